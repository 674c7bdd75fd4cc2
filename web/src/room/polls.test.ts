import { describe, expect, it } from "vitest";
import type { Poll } from "../protocol/types";
import {
  applyPoll,
  closeCard,
  draftProblem,
  initialPolls,
  pollsFromSnapshot,
  removePoll,
  resultsOf,
  setChoices,
  sortPolls,
  toggleChoice,
  validChoices,
} from "./polls";

function poll(id: string, extra: Partial<Poll> = {}): Poll {
  return {
    id,
    question: `Question ${id}?`,
    options: ["Yes", "No", "Maybe"],
    multiple: false,
    anonymous: false,
    state: "draft",
    shared: false,
    created_at: "2026-01-01T10:00:00Z",
    opened_at: null,
    closed_at: null,
    totals: null,
    voters: null,
    ...extra,
  };
}

describe("polls state", () => {
  it("pops the card up when a poll opens, once, unless already answered", () => {
    let s = applyPoll(initialPolls(), poll("a"));
    expect(s.card).toBeNull();
    s = applyPoll(s, poll("a", { state: "open" }));
    expect(s.card).toBe("a");
    s = closeCard(s);
    expect(s.card).toBeNull();
    // A later upsert (new totals) does not bring it back.
    s = applyPoll(s, poll("a", { state: "open", totals: [1, 0, 0], voters: 1 }));
    expect(s.card).toBeNull();
    // Answered before it opened again (snapshot choices): no card.
    const voted = pollsFromSnapshot(initialPolls(), [{ ...poll("b", { state: "open" }), my_choices: [1] }]);
    expect(voted.card).toBeNull();
    expect(voted.choices.get("b")).toEqual([1]);
  });

  it("builds from the snapshot with the open poll's card", () => {
    const s = pollsFromSnapshot(initialPolls(), [
      { ...poll("a", { state: "closed" }), my_choices: [] },
      { ...poll("b", { state: "open" }), my_choices: [] },
    ]);
    expect(s.card).toBe("b");
    expect(s.polls.size).toBe(2);
  });

  it("keeps the card for shared results, else closes it with the poll", () => {
    let s = applyPoll(initialPolls(), poll("a", { state: "open" }));
    const closed = applyPoll(s, poll("a", { state: "closed" }));
    expect(closed.card).toBeNull();
    s = applyPoll(s, poll("a", { state: "closed", shared: true, totals: [2, 1, 0], voters: 3 }));
    expect(s.card).toBe("a");
    // Shared later, to someone who had closed the card: it comes up with the results.
    let later = applyPoll(initialPolls(), poll("b", { state: "open" }));
    later = applyPoll(closeCard(later), poll("b", { state: "closed" }));
    later = applyPoll(later, poll("b", { state: "closed", shared: true, totals: [1, 0, 0], voters: 1 }));
    expect(later.card).toBe("b");
  });

  it("takes one's choices from a vote reply, and forgets a deleted poll", () => {
    let s = applyPoll(initialPolls(), { ...poll("a", { state: "open" }), my_choices: [2] });
    expect(s.choices.get("a")).toEqual([2]);
    expect(s.polls.get("a")).not.toHaveProperty("my_choices");
    s = setChoices(s, "a", [1, 0]);
    expect(s.choices.get("a")).toEqual([0, 1]);
    s = removePoll(s, "a");
    expect(s.polls.size).toBe(0);
    expect(s.choices.size).toBe(0);
    expect(removePoll(s, "a")).toBe(s);
  });

  it("checks and toggles choices", () => {
    const single = poll("s");
    const multi = poll("m", { multiple: true });
    expect(validChoices(single, [0])).toBe(true);
    expect(validChoices(single, [0, 1])).toBe(false);
    expect(validChoices(single, [])).toBe(false);
    expect(validChoices(multi, [0, 2])).toBe(true);
    expect(validChoices(multi, [0, 0])).toBe(false);
    expect(validChoices(multi, [3])).toBe(false);
    expect(toggleChoice(single, [0], 2)).toEqual([2]);
    expect(toggleChoice(multi, [2], 0)).toEqual([0, 2]);
    expect(toggleChoice(multi, [0, 2], 2)).toEqual([0]);
  });

  it("gives percentages of the voters", () => {
    expect(resultsOf(poll("a"))).toBeNull();
    expect(resultsOf(poll("a", { totals: [3, 1, 0], voters: 4 }))?.map((r) => r.percent)).toEqual([75, 25, 0]);
    expect(resultsOf(poll("a", { totals: [0, 0, 0], voters: 0 }))?.map((r) => r.percent)).toEqual([0, 0, 0]);
    // Multiple choice: of the voters, so the sum may pass 100.
    expect(resultsOf(poll("m", { multiple: true, totals: [2, 2, 1], voters: 2 }))?.map((r) => r.percent)).toEqual([100, 100, 50]);
  });

  it("orders open, draft, closed; newest first", () => {
    const list = [
      poll("a", { state: "closed" }),
      poll("b", { state: "open" }),
      poll("c", { created_at: "2026-01-01T11:00:00Z" }),
      poll("d"),
    ];
    expect(sortPolls(list).map((p) => p.id)).toEqual(["b", "c", "d", "a"]);
  });

  it("says what is wrong with a draft", () => {
    expect(draftProblem(" ", ["a", "b"])).toBe("polls.error.noQuestion");
    expect(draftProblem("Q", ["a", " "])).toBe("polls.error.fewOptions");
    expect(draftProblem("Q", ["a", "a"])).toBe("polls.error.sameOptions");
    expect(draftProblem("Q", Array.from({ length: 11 }, (_, i) => `o${i}`))).toBe("polls.error.manyOptions");
    expect(draftProblem("Q", ["a", "x".repeat(101)])).toBe("polls.error.optionLong");
    expect(draftProblem("x".repeat(301), ["a", "b"])).toBe("polls.error.questionLong");
    expect(draftProblem("Q", ["a", "b", ""])).toBeNull();
  });
});
