// No secret reaches the browser bundle (issue 6): the build embeds no environment values and
// no credential-looking strings. Runs after `npm run build` (scripts/test builds first).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const assets = join(__dirname, "..", "dist", "assets");

describe("the production bundle", () => {
  it.skipIf(!existsSync(assets))("carries no secrets", () => {
    const js = readdirSync(assets)
      .filter((f) => f.endsWith(".js"))
      .map((f) => readFileSync(join(assets, f), "utf8"))
      .join("\n");
    expect(js.length).toBeGreaterThan(1000);
    for (const needle of ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "BEGIN PRIVATE KEY", "pb_live_", "pbs_", "test test test"]) {
      expect(js.includes(needle), needle).toBe(false);
    }
    // Vite inlines only VITE_* variables; the app defines none.
    expect(/VITE_[A-Z_]+/.test(js)).toBe(false);
  });
});
