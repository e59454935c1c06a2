import { ipc, type PriceItem } from '../ipc';

let cached: Promise<PriceItem[]> | null = null;

/** The company price list; fixed for the life of the app. */
export function priceList(): Promise<PriceItem[]> {
  if (!cached) {
    cached = ipc.priceList();
    cached.catch(() => (cached = null));
  }
  return cached;
}
