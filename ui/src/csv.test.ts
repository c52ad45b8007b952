import { describe, expect, it } from "vitest";
import { csvField, csvFilename, rowsToCsv, safeText, toCsv } from "./csv";
import type { Row } from "./types";

describe("csv quoting", () => {
  it("leaves plain fields alone", () => {
    expect(csvField("Rooms")).toBe("Rooms");
    expect(csvField("")).toBe("");
  });
  it("quotes commas, quotes, newlines and edge spaces", () => {
    expect(csvField("a,b")).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField("two\nlines")).toBe('"two\nlines"');
    expect(csvField("cr\r")).toBe('"cr\r"');
    expect(csvField(" padded")).toBe('" padded"');
  });
  it("joins with CRLF and ends with one", () => {
    expect(toCsv(["a", "b"], [["1", "x,y"]])).toBe('a,b\r\n1,"x,y"\r\n');
  });
  it("defuses formulas in text", () => {
    expect(safeText("=SUM(A1)")).toBe("'=SUM(A1)");
    expect(safeText("+1")).toBe("'+1");
    expect(safeText("@x")).toBe("'@x");
    expect(safeText("Minibar")).toBe("Minibar");
  });
});

describe("rowsToCsv", () => {
  const base: Row = {
    id: "t1", kind: "expense", property_id: "p1", amount_minor: 123450, currency: "USD",
    category: "Repairs, urgent", memo: 'Boiler "B2"\nroom 12', occurred_on: "2026-11-03",
    status: "pending", version: 1, client_mutation_id: null, created_by: "u", created_at: "2026-11-03T00:00:00Z",
    updated_at: "2026-11-03T00:00:00Z", pending_sync: false, sync_error: null,
  };
  it("writes every row with decimal amounts and property names", () => {
    const csv = rowsToCsv(
      [base, { ...base, id: "local-m", amount_minor: 5, memo: "-refund", pending_sync: true, currency: "JPY" }],
      [{ id: "p1", name: "Harbour View" }],
    );
    expect(csv).toBe(
      "date,kind,property,category,memo,amount,currency,status,id\r\n" +
        '2026-11-03,expense,Harbour View,"Repairs, urgent","Boiler ""B2""\nroom 12",1234.50,USD,pending,t1\r\n' +
        "2026-11-03,expense,Harbour View,\"Repairs, urgent\",'-refund,5,JPY,pending (syncing),local-m\r\n",
    );
  });
  it("names files safely", () => {
    expect(csvFilename(["ledgerline", "revenue", "Harbour View/2", "2026-11-01", "2026-11-30"])).toBe(
      "ledgerline-revenue-Harbour_View_2-2026-11-01-2026-11-30.csv",
    );
    expect(csvFilename([])).toBe("export.csv");
  });
});
