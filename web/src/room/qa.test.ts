import { describe, expect, it } from "vitest";
import type { Question } from "../protocol/types";
import {
  applyAsked,
  applyQaUpdated,
  applyQuestion,
  initialQa,
  mayVote,
  openCount,
  qaFromSnapshot,
  qaSections,
  removeQuestion,
  setVoted,
  sortQuestions,
} from "./qa";

const ADA = { id: "p-ada", display_name: "Ada" };
const BOB = { id: "p-bob", display_name: "Bob" };

function q(id: string, votes: number, at: string, extra: Partial<Question> = {}): Question {
  return { id, text: `question ${id}`, asker: BOB, asked_at: `2026-01-01T10:${at}:00Z`, votes, state: "open", answer: null, live: false, ...extra };
}

describe("Q&A state", () => {
  it("builds from the snapshot, with what this person voted for and asked", () => {
    const s = qaFromSnapshot(initialQa(), {
      enabled: true,
      anonymous: true,
      questions: [q("a", 1, "00"), q("b", 0, "01", { asker: null }), q("c", 0, "02", { asker: ADA })],
      voted: ["a"],
      asked: ["b"],
    }, ADA.id);
    expect(s.enabled).toBe(true);
    expect(s.anonymous).toBe(true);
    expect([...s.voted]).toEqual(["a"]);
    expect([...s.mine].sort()).toEqual(["b", "c"]);
    expect(qaFromSnapshot(s, undefined, ADA.id).questions.size).toBe(0);
  });

  it("upserts questions by id; the same record changes nothing", () => {
    let s = applyQuestion(initialQa(), q("a", 0, "00"), ADA.id);
    s = applyQuestion(s, q("a", 5, "00"), ADA.id);
    expect(s.questions.get("a")?.votes).toBe(5);
    expect(s.questions.size).toBe(1);
    expect(applyQuestion(s, q("a", 5, "00"), ADA.id)).toBe(s);
    const answered = applyQuestion(s, q("a", 5, "00", { state: "answered", answer: { text: "Yes", by: ADA, at: "2026-01-01T10:05:00Z" } }), ADA.id);
    expect(answered.questions.get("a")?.answer?.text).toBe("Yes");
  });

  it("knows one's own anonymous question from the reply, and refuses a vote on it", () => {
    const mineAnon = q("m", 0, "00", { asker: null });
    const s = applyAsked(initialQa(), mineAnon, ADA.id);
    expect(s.mine.has("m")).toBe(true);
    expect(mayVote(s, mineAnon, ADA.id)).toBe(false);
    const other = q("o", 0, "01");
    expect(mayVote(s, other, ADA.id)).toBe(true);
    expect(mayVote(s, { ...other, state: "answered" }, ADA.id)).toBe(false);
    expect(mayVote(s, q("x", 0, "02", { asker: ADA }), ADA.id)).toBe(false);
  });

  it("keeps this person's votes", () => {
    let s = setVoted(initialQa(), "a", true);
    expect(s.voted.has("a")).toBe(true);
    expect(setVoted(s, "a", true)).toBe(s);
    s = setVoted(s, "a", false);
    expect(s.voted.has("a")).toBe(false);
  });

  it("sorts by votes (ties: oldest first) or by time (newest first)", () => {
    const list = [q("a", 1, "00"), q("b", 3, "01"), q("c", 1, "02"), q("d", 0, "03")];
    expect(sortQuestions(list, "votes").map((x) => x.id)).toEqual(["b", "a", "c", "d"]);
    expect(sortQuestions(list, "time").map((x) => x.id)).toEqual(["d", "c", "b", "a"]);
  });

  it("puts the live one first and shows dismissed ones to hosts and their asker only", () => {
    let s = initialQa();
    for (const x of [
      q("a", 2, "00"),
      q("b", 9, "01", { state: "dismissed" }),
      q("c", 1, "02", { live: true }),
      q("d", 0, "03", { state: "answered", answer: { text: null, by: ADA, at: "2026-01-01T10:09:00Z" } }),
    ]) s = applyQuestion(s, x, ADA.id);
    const host = qaSections(s, "votes", true);
    expect(host.live.map((x) => x.id)).toEqual(["c"]);
    expect(host.open.map((x) => x.id)).toEqual(["a"]);
    expect(host.answered.map((x) => x.id)).toEqual(["d"]);
    expect(host.dismissed.map((x) => x.id)).toEqual(["b"]);
    expect(qaSections(s, "votes", false).dismissed).toEqual([]);
    const asker = applyAsked(s, q("b", 9, "01", { state: "dismissed" }), ADA.id);
    expect(qaSections(asker, "votes", false).dismissed.map((x) => x.id)).toEqual(["b"]);
    expect(openCount(s)).toBe(2);
  });

  it("drops a removed question and follows the settings", () => {
    let s = applyQuestion(initialQa(), q("a", 0, "00"), null);
    s = removeQuestion(s, "a");
    expect(s.questions.size).toBe(0);
    expect(removeQuestion(s, "a")).toBe(s);
    const on = applyQaUpdated(s, { enabled: true, anonymous: false });
    expect(on.enabled).toBe(true);
    expect(applyQaUpdated(on, { enabled: true, anonymous: false })).toBe(on);
  });
});
