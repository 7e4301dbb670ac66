// Money in the browser is exact too: amounts travel as strings of integer minor units
// (api.md, "Amounts") and are converted with BigInt, never with floating point.

/** Parses what a person typed ("12.5", "1,000.25") in major units into minor units, or null. */
export function toMinorUnits(input: string, scale: number): string | null {
  const s = input.trim().replace(/[,\s_]/g, "");
  const m = /^(\d+)(?:\.(\d*))?$/.exec(s);
  if (!m) return null;
  const whole = m[1];
  const frac = m[2] ?? "";
  if (frac.length > scale) return null;
  const units = BigInt(whole + frac.padEnd(scale, "0"));
  return units > 0n ? units.toString() : null;
}

/** Formats signed minor units as a decimal in major units, grouped for the locale. */
export function formatUnits(units: string, scale: number, locale = "en"): string {
  let n = BigInt(units);
  const negative = n < 0n;
  if (negative) n = -n;
  const digits = n.toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale) || "0";
  let frac = scale > 0 ? digits.slice(digits.length - scale) : "";
  // Crypto amounts (18, 9, 6 decimals) read better without trailing zeros; exactness is kept.
  if (scale > 2) frac = frac.replace(/0+$/, "").padEnd(2, "0");
  const grouped = BigInt(whole).toLocaleString(locale === "zh" ? "zh-CN" : "en-US");
  return `${negative ? "−" : ""}${grouped}${frac ? "." + frac : ""}`;
}

export function formatMoney(units: string, scale: number, asset: string, locale = "en"): string {
  return `${formatUnits(units, scale, locale)} ${asset}`;
}

/** Sums amounts of ONE asset; the caller groups by asset first (different assets never add). */
export function sumUnits(values: string[]): string {
  return values.reduce((acc, v) => acc + BigInt(v), 0n).toString();
}
