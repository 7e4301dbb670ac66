import { describe, expect, it } from "vitest";
import { en } from "./en";
import { zh } from "./zh";

describe("translations", () => {
  it("Chinese has every key, each translated", () => {
    const untranslated = Object.keys(en).filter((k) => {
      const key = k as keyof typeof en;
      return !zh[key] || (zh[key] === en[key] && !/^[A-Z]{2,}/.test(en[key]));
    });
    expect(untranslated).toEqual([]);
  });

  it("placeholders match between languages", () => {
    const vars = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const k of Object.keys(en) as (keyof typeof en)[]) expect(vars(zh[k])).toEqual(vars(en[k]));
  });
});
