import { describe, expect, it } from "vitest";
import { describeAgent } from "./agent";

describe("describeAgent", () => {
  it("names common browsers and systems", () => {
    expect(describeAgent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36")).toBe("Chrome · Linux");
    expect(describeAgent("Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Version/18.0 Mobile/15E148 Safari/604.1")).toBe("Safari · iOS");
  });
  it("keeps unknown agents as given, and nothing as nothing", () => {
    expect(describeAgent("OtherDevice/1.0")).toBe("OtherDevice/1.0");
    expect(describeAgent(null)).toBeNull();
  });
});
