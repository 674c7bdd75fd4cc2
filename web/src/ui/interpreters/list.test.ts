import { describe, expect, it } from "vitest";
import { MAX_INTERPRETERS, type Interpreter } from "../../protocol/interpreters";
import { OFFERED_LANGUAGES, addByEmail, chosenLanguages, labelOf, languageLabel, removeAt, toInput } from "./list";

const bea: Interpreter = {
  id: "1", user_id: "u-bea", email: null, display_name: "Bea", languages: ["en", "fr"], booth: "en-fr",
};
const cy: Interpreter = {
  id: "2", user_id: "u-cy", email: "cy@example.net", display_name: null, languages: ["ar"], booth: "ar",
};

describe("interpreters list", () => {
  it("sends back accounts by id and addresses by address, never both", () => {
    expect(toInput([bea, cy])).toEqual([
      { user_id: "u-bea", languages: ["en", "fr"] },
      { email: "cy@example.net", display_name: null, languages: ["ar"] },
    ]);
  });

  it("takes one language or two different ones, sorted", () => {
    expect(chosenLanguages("fr", "")).toEqual(["fr"]);
    expect(chosenLanguages("fr", "en")).toEqual(["en", "fr"]);
    expect(chosenLanguages("fr", "fr")).toBeNull();
    expect(chosenLanguages("", "fr")).toBeNull();
  });

  it("adds someone by email once, with a clear reason when it cannot", () => {
    const list = toInput([cy]);
    expect(addByEmail(list, " Dee@Example.org ", "ru", "en")).toEqual([
      ...list,
      { email: "dee@example.org", languages: ["en", "ru"] },
    ]);
    expect(addByEmail(list, "not an address", "ru", "")).toBe("email");
    expect(addByEmail(list, "dee@example", "ru", "")).toBe("email");
    expect(addByEmail(list, "CY@example.net", "ru", "")).toBe("twice");
    expect(addByEmail(list, "dee@example.org", "", "")).toBe("languages");
    expect(addByEmail(list, "dee@example.org", "es", "es")).toBe("languages");
    const full = Array.from({ length: MAX_INTERPRETERS }, (_, n) => ({ email: `i${n}@x.org`, languages: ["fr"] }));
    expect(addByEmail(full, "dee@example.org", "fr", "")).toBe("tooMany");
  });

  it("removes an entry and names each one", () => {
    const list = toInput([bea, cy]);
    expect(removeAt(list, 0)).toEqual([list[1]]);
    const names = new Map([["u-bea", "Bea"]]);
    expect(list.map((i) => labelOf(i, names))).toEqual(["Bea", "cy@example.net"]);
  });
});

describe("interpreter languages", () => {
  it("offers the six UN languages, named in the UI's language", () => {
    expect([...OFFERED_LANGUAGES].sort()).toEqual(["ar", "en", "es", "fr", "ru", "zh"]);
    expect(languageLabel("fr", "en")).toBe("French");
    expect(languageLabel("fr", "fr")).toBe("français");
  });
});
