import { describe, expect, it } from "vitest";
import { toCommandError } from "./ipc";

describe("toCommandError", () => {
  it("keeps a CommandError as it is", () => {
    expect(toCommandError({ kind: "conflict", message: "stale", field: "version" })).toEqual({
      kind: "conflict",
      message: "stale",
      field: "version",
    });
  });
  it("turns strings and unknown shapes into internal errors with words", () => {
    expect(toCommandError("boom")).toEqual({ kind: "internal", message: "boom" });
    expect(toCommandError({ kind: "weird", message: "x" })).toEqual({ kind: "internal", message: "x" });
    expect(toCommandError(undefined).message).toMatch(/went wrong/);
  });
});
