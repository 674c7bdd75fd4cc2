import { describe, expect, it } from "vitest";
import { safeHref, splitLinks } from "./chat-links";

describe("splitLinks", () => {
  it("finds http and https links and leaves the rest as text", () => {
    expect(splitLinks("see https://example.org/a?b=1 and http://x.test.")).toEqual([
      { kind: "text", text: "see " },
      { kind: "link", text: "https://example.org/a?b=1", href: "https://example.org/a?b=1" },
      { kind: "text", text: " and " },
      { kind: "link", text: "http://x.test", href: "http://x.test/" },
      { kind: "text", text: "." },
    ]);
  });
  it("turns www. into an https link", () => {
    expect(splitLinks("www.example.org")).toEqual([{ kind: "link", text: "www.example.org", href: "https://www.example.org/" }]);
  });
  it("never makes a link of javascript:, data: or other schemes", () => {
    for (const text of ["javascript:alert(1)", "JaVaScRiPt:alert(document.cookie)", "data:text/html,<b>x</b>", "file:///etc/passwd", "ftp://x.test/"]) {
      expect(splitLinks(text)).toEqual([{ kind: "text", text }]);
    }
    expect(safeHref("javascript:alert(1)")).toBeNull();
    expect(safeHref("https://")).toBeNull();
  });
  it("keeps plain text as one part", () => {
    expect(splitLinks("hello <b>there</b>")).toEqual([{ kind: "text", text: "hello <b>there</b>" }]);
    expect(splitLinks("")).toEqual([]);
  });
});
