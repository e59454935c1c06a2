/**
 * Lets an image's bytes go as soon as its element leaves the page. WebKit
 * keeps an image decoded while an element still refers to it, and a removed
 * element lives on until the next garbage collection, which may be long in
 * coming: without this, every job opened kept its photos and signature
 * decoded (benches/app.rs measures memory after 20 jobs). Shown again, the
 * image loads again from the blob scheme.
 */
export function releaseImage(img: HTMLImageElement) {
  return {
    destroy() {
      img.removeAttribute('src');
    },
  };
}
