/** Steps on the way to the first job list, on the page's clock (ms since
 * its load began), sent with `list_shown` so a slow start says which step
 * was slow. main.ts imports this module first, so its first mark is taken
 * before the rest of the script is evaluated. */
const marks: [string, number][] = [['script ran', performance.now()]];
let reported = false;

/** Notes a step of the start, until the first list has been reported. */
export function markStart(step: string) {
  if (!reported) marks.push([step, performance.now()]);
}

/** The steps noted, once: later lists are not a start. */
export function takeStartMarks(): [string, number][] | null {
  if (reported) return null;
  reported = true;
  return marks;
}
