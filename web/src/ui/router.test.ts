import { describe, expect, it } from "vitest";
import { matchRoute, transcriptPath } from "./router";

describe("matchRoute", () => {
  it("routes the calendar with its view and date", () => {
    expect(matchRoute("/calendar?view=list&date=2025-06-02")).toEqual({ name: "calendar", view: "list", date: "2025-06-02" });
    expect(matchRoute("/calendar")).toEqual({ name: "calendar", view: null, date: null });
    expect(matchRoute("/calendar?view=year&date=tomorrow")).toEqual({ name: "calendar", view: null, date: null });
  });

  it("routes an invitation's answer page, with the answer its button asked for", () => {
    expect(matchRoute("/rsvp/0b6f6c1e-2a4f-4a8e-9b1f-3c2d1e0f9a8b/AbC-_123?answer=accepted")).toEqual({
      name: "rsvp",
      attendeeId: "0b6f6c1e-2a4f-4a8e-9b1f-3c2d1e0f9a8b",
      token: "AbC-_123",
      occurrence: null,
      answer: "accepted",
    });
    expect(matchRoute("/rsvp/a1/tok?answer=maybe&occurrence=2025-06-02T07:00:00Z")).toMatchObject({
      answer: null,
      occurrence: "2025-06-02T07:00:00Z",
    });
    expect(matchRoute("/rsvp/a1")).toEqual({ name: "home" });
  });

  it("routes a meeting's transcript, with the language asked for", () => {
    const id = "0b6f6c1e-2a4f-4a8e-9b1f-3c2d1e0f9a8b";
    expect(matchRoute(`/meetings/${id}/transcript`)).toEqual({ name: "transcript", meetingId: id, language: null });
    expect(matchRoute(`/meetings/${id}/transcript/?lang=zh-Hant`)).toEqual({ name: "transcript", meetingId: id, language: "zh-Hant" });
    expect(matchRoute(`/meetings/${id}/transcript?lang=es-419`)).toMatchObject({ language: "es-419" });
    expect(matchRoute(`/meetings/${id}/transcript?lang=EN!`)).toMatchObject({ language: null });
    expect(matchRoute(`/meetings/${id}/transcript?lang=${"a".repeat(20)}`)).toMatchObject({ language: null });
    expect(matchRoute("/meetings/a.b/transcript")).toEqual({ name: "home" });
    expect(matchRoute(`/meetings/${id}/transcripts`)).toEqual({ name: "home" });
    expect(transcriptPath(id)).toBe(`/meetings/${id}/transcript`);
    expect(transcriptPath(id, "es")).toBe(`/meetings/${id}/transcript?lang=es`);
    expect(matchRoute(transcriptPath(id, "zh-Hant"))).toMatchObject({ language: "zh-Hant" });
  });

  it("routes an event's registration page, with a confirmation link's credential", () => {
    const link = "AbCdEfGhIjKlMnOpQrStUvWx";
    expect(matchRoute(`/events/${link}/register`)).toEqual({ name: "register", link, confirm: null });
    expect(matchRoute(`/events/${link}/register?confirm=0b6f-6c1e.Tok_en-1`)).toEqual({
      name: "register",
      link,
      confirm: "0b6f-6c1e.Tok_en-1",
    });
    expect(matchRoute(`/events/${link}/register?confirm=no-dot`)).toMatchObject({ confirm: null });
    expect(matchRoute(`/events/${link}/register?confirm=a.b.c`)).toMatchObject({ confirm: null });
    expect(matchRoute("/events/short/register")).toEqual({ name: "home" });
  });

  it("routes settings and keeps the others", () => {
    expect(matchRoute("/settings")).toEqual({ name: "settings" });
    expect(matchRoute("/j/123456789?enter=1")).toEqual({ name: "join", ref: "123456789", enter: true });
    expect(matchRoute("/signin?next=//evil.example")).toEqual({ name: "signin", next: null });
  });
});
