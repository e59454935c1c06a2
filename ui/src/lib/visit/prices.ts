import { ipc, type FeeLine, type PriceItem, type PriceList, type ServiceForm } from '../ipc';

/** The price list the last sync brought from HQ; asked again each time, since a sync may change it. */
export function priceList(): Promise<PriceList> {
  return ipc.priceList();
}

/** What a line charges per unit and under which names: as recorded, else as the saved service form reads it. */
export function linePricing(line: FeeLine, form: ServiceForm): { name_zh: string; name_en: string; unit_price_fen: number } | null {
  if (line.priced) return line.priced;
  return form.fees.find((f) => f.code === line.code) ?? null;
}

/** A new line priced from the list the laptop holds now. */
export function pricedLine(list: PriceList, item: PriceItem, quantity: number): FeeLine {
  return {
    code: item.code,
    quantity,
    priced: { list_version: list.version, name_zh: item.name_zh, name_en: item.name_en, unit_price_fen: item.unit_price_fen },
  };
}
