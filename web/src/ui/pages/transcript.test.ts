import { describe, expect, it } from "vitest";
import { RestClient, transcriptFileUrl, transcriptPagePath, type TranscriptPage, type TranscriptSegment } from "../../protocol/rest";
import { NO_PAGES, addPage, formatOffset, formatWallTime, languageName, pickLanguage, textDirection } from "./transcript";

function segment(id: string, startMs: number): TranscriptSegment {
  return {
    id,
    speaker: { id: "p1", display_name: "Ada" },
    start: new Date(Date.UTC(2026, 11, 3, 9, 0, 0) + startMs).toISOString(),
    end: new Date(Date.UTC(2026, 11, 3, 9, 0, 1) + startMs).toISOString(),
    start_ms: startMs,
    end_ms: startMs + 1000,
    text: `line ${id}`,
    source_language: null,
    translated: false,
  };
}

function page(segments: TranscriptSegment[], next: string | null): TranscriptPage {
  return { meeting_id: "m1", title: "Weekly sync", language: "en", segments, next_cursor: next };
}

describe("formatOffset", () => {
  it("writes a place in the transcript as HH:MM:SS from its start", () => {
    expect(formatOffset(0)).toBe("00:00:00");
    expect(formatOffset(999)).toBe("00:00:00");
    expect(formatOffset(61_500)).toBe("00:01:01");
    expect(formatOffset(3_600_000 + 23 * 60_000 + 45_000)).toBe("01:23:45");
    expect(formatOffset(100 * 3_600_000)).toBe("100:00:00");
    expect(formatOffset(-5)).toBe("00:00:00");
  });
});

describe("formatWallTime", () => {
  it("shows the wall time in the reader's zone", () => {
    const text = formatWallTime("2026-12-03T09:00:05Z", "en", "Asia/Tokyo");
    expect(text).toContain("6:00:05"); // 6:00:05 PM in Tokyo, in English
    expect(formatWallTime("2026-12-03T09:00:05Z", "fr", "Europe/Paris")).toContain("10:00:05");
    expect(formatWallTime("not a time", "en")).toBe("not a time");
  });
});

describe("languages", () => {
  it("names a language in the UI's language, the tag when there is no name", () => {
    expect(languageName("es", "en")).toBe("Spanish");
    expect(languageName("es", "fr")).toBe("espagnol");
    expect(languageName("en", "ar")).toBe("الإنجليزية");
  });

  it("knows the direction of a language's text", () => {
    expect(textDirection("ar")).toBe("rtl");
    expect(textDirection("he")).toBe("rtl");
    expect(textDirection("fa-IR")).toBe("rtl");
    expect(textDirection("en")).toBe("ltr");
    expect(textDirection("zh-Hant")).toBe("ltr");
    expect(textDirection("az-Arab")).toBe("rtl");
  });

  it("shows the language asked for when there is one, else the first", () => {
    const langs = [
      { language: "en", segments: 3, translated: false },
      { language: "es", segments: 2, translated: true },
    ];
    expect(pickLanguage("es", langs)).toBe("es");
    expect(pickLanguage("fr", langs)).toBe("en");
    expect(pickLanguage(null, langs)).toBe("en");
    expect(pickLanguage("en", [])).toBeNull();
  });
});

describe("paging", () => {
  it("adds pages in order until the last one, without repeating a segment", () => {
    let paging = addPage(NO_PAGES, page([segment("a", 0), segment("b", 2000)], "c1"));
    expect(paging).toMatchObject({ cursor: "c1", done: false, title: "Weekly sync" });
    // A page read again (Load more after a retry) repeats nothing.
    paging = addPage(paging, page([segment("b", 2000), segment("c", 4000)], null));
    expect(paging.segments.map((s) => s.id)).toEqual(["a", "b", "c"]);
    expect(paging).toMatchObject({ cursor: null, done: true });
  });

  it("reads a transcript page by page with the cursor", async () => {
    const asked: string[] = [];
    const pages: Record<string, TranscriptPage> = {
      "": page([segment("a", 0)], "c1"),
      c1: page([segment("b", 2000)], null),
    };
    const rest = new RestClient({
      base: "/api/v1",
      fetch: (input) => {
        asked.push(input);
        const cursor = new URL(input, "http://x").searchParams.get("cursor") ?? "";
        return Promise.resolve(new Response(JSON.stringify(pages[cursor]), { status: 200 }));
      },
    });
    let paging = NO_PAGES;
    while (!paging.done) paging = addPage(paging, await rest.transcriptPage("m 1", "es-419", paging.cursor, 50));
    expect(paging.segments.map((s) => s.id)).toEqual(["a", "b"]);
    expect(asked).toEqual([
      "/api/v1/meetings/m%201/transcripts/es-419?format=json&limit=50",
      "/api/v1/meetings/m%201/transcripts/es-419?format=json&limit=50&cursor=c1",
    ]);
  });
});

describe("URLs", () => {
  it("builds the download links and the page paths", () => {
    expect(transcriptFileUrl("m1", "en", "vtt")).toBe("/api/v1/meetings/m1/transcripts/en?format=vtt");
    expect(transcriptFileUrl("m1", "zh-Hant", "json", "/base")).toBe("/base/meetings/m1/transcripts/zh-Hant?format=json");
    expect(transcriptPagePath("m1", "en", 10, "a+b/=")).toBe("/meetings/m1/transcripts/en?format=json&limit=10&cursor=a%2Bb%2F%3D");
  });
});
