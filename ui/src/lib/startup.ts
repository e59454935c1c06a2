/** The page's clock (ms since its load began) when the app's script began
 * to run: main.ts imports this first, so it is evaluated before the rest. */
export const scriptRan = performance.now();
