import { describe, expect, it } from "vitest";
import { LocalMedia } from "../engine/local";
import type { SignalingPort } from "../engine/port";
import type { InterpretationInfo, InterpretationSignalEvent, ParticipantInfo } from "../protocol/types";
import { initialInterpretation } from "./interpretation";
import {
  airState,
  assignableLanguages,
  assignment,
  consoleView,
  currentSpeaker,
  interpreterOf,
  InterpreterDesk,
  partnerAction,
  UN_LANGUAGES,
} from "./interpreter";
import { noticesBetween } from "./notices";
import { initialState, type RoomState } from "./state";

/** A pair booth en-fr with Ann and Bob, and a one-language booth ar with Cy. */
function info(live: string | null, handover: { from: string; to: string } | null = null): InterpretationInfo {
  return {
    channels: [
      { language: "ar", kind: "human", booth: "ar", feeds: [7], on_air: false },
      { language: "fr", kind: "human", booth: "en-fr", feeds: [3, 4], on_air: live !== null },
    ],
    booths: [
      {
        id: "en-fr",
        languages: ["en", "fr"],
        output: "fr",
        live,
        partners: ["ann", "bob"],
        handover: handover ? { ...handover, requested_at: "2026-01-01T10:00:00Z" } : null,
      },
      { id: "ar", languages: ["ar"], output: "ar", live: null, partners: ["cy"], handover: null },
    ],
    interpreters: [
      { participant_id: "ann", display_name: "Ann", languages: ["en", "fr"], booth: "en-fr" },
      { participant_id: "bob", display_name: "Bob", languages: ["en", "fr"], booth: "en-fr" },
      { participant_id: "cy", display_name: "Cy", languages: ["ar"], booth: "ar" },
    ],
    machine_languages: [],
  };
}

describe("consoleView", () => {
  it("is null for someone who is not an interpreter", () => {
    expect(consoleView(info("ann"), "dan")).toBeNull();
    expect(consoleView(info("ann"), null)).toBeNull();
    expect(interpreterOf(info("ann"), "bob")?.booth).toBe("en-fr");
  });

  it("shows the live interpreter on air and the partner off air, naming who is live", () => {
    const ann = consoleView(info("ann"), "ann");
    const bob = consoleView(info("ann"), "bob");
    expect(ann && airState(ann, true)).toBe("on_air");
    expect(ann && airState(ann, false)).toBe("live_muted");
    // Talking to a partner mutes the channel: not on air meanwhile.
    expect(ann && airState(ann, true, true)).toBe("talking");
    expect(bob && airState(bob, true, true)).toBe("partner_live");
    expect(bob && airState(bob, true)).toBe("partner_live");
    expect(bob?.live).toEqual({ id: "ann", name: "Ann" });
    expect(bob?.partners).toEqual([{ id: "ann", name: "Ann", live: true }]);
    expect(ann?.outputs).toEqual(["en", "fr"]);
    expect(ann?.output).toBe("fr");
    const cy = consoleView(info("ann"), "cy");
    expect(cy && airState(cy, true)).toBe("nobody_live");
    expect(cy?.partners).toEqual([]);
  });

  it("offers hand over to the live one, take over to a partner, nothing while a handover is pending", () => {
    const ann = consoleView(info("ann"), "ann");
    const bob = consoleView(info("ann"), "bob");
    expect(ann && partnerAction(ann, { id: "bob", name: "Bob", live: false })).toBe("hand_over");
    expect(bob && partnerAction(bob, { id: "ann", name: "Ann", live: true })).toBe("take_over");
    const pending = info("ann", { from: "ann", to: "bob" });
    const annPending = consoleView(pending, "ann");
    const bobPending = consoleView(pending, "bob");
    expect(annPending?.outgoing?.to).toBe("bob");
    expect(annPending?.incoming).toBeNull();
    expect(bobPending?.incoming?.from).toBe("ann");
    expect(annPending && partnerAction(annPending, { id: "bob", name: "Bob", live: false })).toBeNull();
    // Nobody live: "Take" claims the booth, no partner action.
    const idle = consoleView(info(null), "bob");
    expect(idle && partnerAction(idle, { id: "ann", name: "Ann", live: false })).toBeNull();
  });
});

describe("host choices", () => {
  it("offers the six UN languages first, then the meeting's caption languages once each", () => {
    expect(assignableLanguages(["en", "de", "pt-BR"])).toEqual([...UN_LANGUAGES, "de", "pt-BR"]);
  });

  it("makes one target language or a pair, never the same language twice", () => {
    expect(assignment("ar", "")).toEqual(["ar"]);
    expect(assignment("en", "fr")).toEqual(["en", "fr"]);
    expect(assignment("en", "en")).toBeNull();
    expect(assignment("", "fr")).toBeNull();
  });
});

describe("currentSpeaker", () => {
  it("is who spoke last, never an interpreter nor oneself", () => {
    const spoke = new Map([["dan", 10], ["ann", 30], ["eve", 20], ["bob", 40]]);
    expect(currentSpeaker(spoke, info("ann"), "bob")).toBe("eve");
    expect(currentSpeaker(new Map([["ann", 1]]), info("ann"), "bob")).toBeNull();
  });
});

function person(id: string, role: ParticipantInfo["role"] = "participant"): ParticipantInfo {
  return {
    id,
    display_name: id.toUpperCase(),
    role,
    guest: false,
    audio: false,
    video: false,
    audio_blocked: false,
    video_blocked: false,
    hand_raised: false,
    hand_raised_at: null,
    screen_sharing: false,
    connection: "connected",
    joined_at: "2025-01-01T00:00:00Z",
    spoken_language: null,
  };
}

function withSignals(self: string, role: ParticipantInfo["role"], signals: InterpretationSignalEvent[]): RoomState {
  const people = [person(self, role), person("dan"), person("ann")];
  return {
    ...initialState(),
    phase: "joined",
    selfId: self,
    participants: new Map(people.map((p) => [p.id, p])),
    interpretation: { ...initialInterpretation(), signals },
  };
}

describe("signal notices", () => {
  const slow: InterpretationSignalEvent = {
    kind: "slow_down",
    sender: "ann",
    display_name: "Ann",
    booth: "en-fr",
    to: "dan",
    sent_at: "2026-01-01T10:00:00Z",
  };

  it("tells the speaker it is for, and the hosts with the speaker's name", () => {
    const before = withSignals("dan", "participant", []);
    expect(noticesBetween(before, { ...before, interpretation: { ...before.interpretation, signals: [slow] } }, false)).toEqual([
      { kind: "signal", signal: slow, toYou: true, speaker: "DAN" },
    ]);
    const host = withSignals("hal", "host", []);
    expect(noticesBetween(host, { ...host, interpretation: { ...host.interpretation, signals: [slow] } }, false)).toEqual([
      { kind: "signal", signal: slow, toYou: false, speaker: "DAN" },
    ]);
  });

  it("tells nobody else, and never the interpreter who sent it", () => {
    const other = withSignals("eve", "participant", []);
    expect(noticesBetween(other, { ...other, interpretation: { ...other.interpretation, signals: [slow] } }, false)).toEqual([]);
    const sender = withSignals("ann", "cohost", []);
    expect(noticesBetween(sender, { ...sender, interpretation: { ...sender.interpretation, signals: [slow] } }, false)).toEqual([]);
  });
});

describe("InterpreterDesk requests", () => {
  function desk() {
    const sent: [string, unknown][] = [];
    const port = {
      request: (type: string, data: unknown) => {
        sent.push([type, data]);
        return Promise.resolve({});
      },
      notify: () => true,
    } as unknown as SignalingPort;
    return { desk: new InterpreterDesk(port, new LocalMedia()), sent };
  }

  it("sends the booth's requests as the protocol names them", async () => {
    const { desk: d, sent } = desk();
    await d.handover("bob");
    await d.cancel();
    await d.output("en");
    await d.signal("slow_down", null);
    await d.signal("audio_poor", "dan");
    await d.boothChat("next speaker is fast");
    expect(sent).toEqual([
      ["interpretation.handover", { to: "bob" }],
      ["interpretation.handover.cancel", {}],
      ["interpretation.output", { language: "en" }],
      ["interpretation.signal", { kind: "slow_down" }],
      ["interpretation.signal", { kind: "audio_poor", to: "dan" }],
      ["interpretation.booth_chat", { text: "next speaker is fast" }],
    ]);
  });

  it("opens the console microphone on taking the channel or accepting a handover", async () => {
    const { desk: d, sent } = desk();
    expect(d.state.micOn).toBe(false);
    await d.take();
    expect(d.state.micOn).toBe(true);
    d.setMic(false);
    await d.accept();
    expect(d.state.micOn).toBe(true);
    expect(sent.map(([type]) => type)).toEqual(["interpretation.take", "interpretation.handover.accept"]);
  });

  it("talking to the partner is a state of its own, kept apart from the microphone", () => {
    const { desk: d } = desk();
    d.setMic(true);
    d.setTalk(true);
    expect(d.state).toMatchObject({ micOn: true, talking: true, active: false });
    d.setTalk(false);
    expect(d.state.talking).toBe(false);
  });
});
