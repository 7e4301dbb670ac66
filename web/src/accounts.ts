// Loading accounts and assets, shared by several pages.
import { api, unwrap, type Schemas } from "./api/client";

export type Account = Schemas["AccountView"];
export type Asset = Schemas["AssetView"];

/** Every account of the caller (following the cursor), oldest first. */
export async function allAccounts(): Promise<Account[]> {
  const out: Account[] = [];
  let after: string | undefined;
  for (let page = 0; page < 20; page++) {
    const l = unwrap(await api.GET("/v1/accounts", { params: { query: { limit: 100, starting_after: after } } }));
    out.push(...l.data);
    if (!l.has_more || l.data.length === 0) break;
    after = l.data[l.data.length - 1].id;
  }
  return out;
}

export async function assets(): Promise<Asset[]> {
  return unwrap(await api.GET("/v1/assets")).data;
}

/** Groups by asset: amounts of different assets are never added together. */
export function byAsset(accounts: Account[]): Map<string, Account[]> {
  const m = new Map<string, Account[]>();
  for (const a of accounts) m.set(a.asset, [...(m.get(a.asset) ?? []), a]);
  return m;
}
