import { describe, expect, it } from "vitest";
import { formatUnits, sumUnits, toMinorUnits } from "./money";

describe("money", () => {
  it("parses major units exactly", () => {
    expect(toMinorUnits("12.5", 2)).toBe("1250");
    expect(toMinorUnits("1,000.25", 2)).toBe("100025");
    expect(toMinorUnits("0.1", 18)).toBe("100000000000000000");
    expect(toMinorUnits("1.005", 2)).toBeNull();
    expect(toMinorUnits("-3", 2)).toBeNull();
    expect(toMinorUnits("0", 2)).toBeNull();
    expect(toMinorUnits("abc", 2)).toBeNull();
    expect(toMinorUnits("1500", 0)).toBe("1500");
  });

  it("formats minor units exactly, beyond float precision", () => {
    expect(formatUnits("1250", 2)).toBe("12.50");
    expect(formatUnits("-5", 2)).toBe("−0.05");
    expect(formatUnits("123456789012345678901", 18)).toBe("123.456789012345678901");
    expect(formatUnits("100000000", 2)).toBe("1,000,000.00");
    expect(formatUnits("1500", 0)).toBe("1,500");
    expect(formatUnits("250000000000000000", 18)).toBe("0.25");
    expect(formatUnits("1000000", 6)).toBe("1.00");
  });

  it("sums one asset's amounts as integers", () => {
    expect(sumUnits(["9007199254740993", "1"])).toBe("9007199254740994");
  });
});
