import { IntlMessageFormat } from "intl-messageformat";
import { describe, expect, it } from "vitest";
import { LANGUAGES, directionOf, language, loadAllCatalogues, pickLanguage, t, uiLocale } from "./index";

type Element = {
  type: number;
  value?: unknown;
  options?: Record<string, { value: Element[] }>;
  children?: Element[];
};

// intl-messageformat's AST element types (TYPE in @formatjs/icu-messageformat-parser).
const ARGUMENT_TYPES = new Set([1, 2, 3, 4, 5, 6, 8]);
const PLURAL = 6;

/** The placeholders a message uses, and the plural categories each plural covers. */
function analyse(elements: Element[], names: Set<string>, plurals: Set<string>[]): void {
  for (const el of elements) {
    if (ARGUMENT_TYPES.has(el.type) && typeof el.value === "string") names.add(el.value);
    if (el.type === PLURAL && el.options) plurals.push(new Set(Object.keys(el.options)));
    for (const option of Object.values(el.options ?? {})) analyse(option.value, names, plurals);
    if (el.children) analyse(el.children, names, plurals);
  }
}

function parse(message: string, locale: string): { names: Set<string>; plurals: Set<string>[] } {
  const ast = new IntlMessageFormat(message, locale).getAst() as unknown as Element[];
  const names = new Set<string>();
  const plurals: Set<string>[] = [];
  analyse(ast, names, plurals);
  return { names, plurals };
}

const CATALOGUES = await loadAllCatalogues();
const english = CATALOGUES.en;

describe("catalogues", () => {
  for (const lang of LANGUAGES) {
    const catalogue = CATALOGUES[lang];
    describe(lang, () => {
      it("has exactly the keys English has", () => {
        expect(Object.keys(catalogue).filter((k) => !(k in english))).toEqual([]);
        expect(Object.keys(english).filter((k) => !(k in catalogue))).toEqual([]);
      });

      it("has messages that parse, with English's placeholders", () => {
        for (const [key, message] of Object.entries(catalogue)) {
          expect(message.trim(), key).not.toBe("");
          const own = parse(message, lang);
          const reference = parse(english[key] ?? "", "en");
          expect([...own.names].sort(), key).toEqual([...reference.names].sort());
        }
      });

      it("covers every plural form of the language", () => {
        const categories = new Intl.PluralRules(lang).resolvedOptions().pluralCategories;
        for (const [key, message] of Object.entries(catalogue)) {
          for (const options of parse(message, lang).plurals) {
            expect(categories.filter((c) => !options.has(c)), `${lang} ${key}`).toEqual([]);
          }
        }
      });
    });
  }
});

describe("choosing a language", () => {
  it("takes the browser's best match among the six, else English", () => {
    expect(pickLanguage(["de-DE", "fr-CA", "en"])).toBe("fr");
    expect(pickLanguage(["zh-Hans-CN"])).toBe("zh");
    expect(pickLanguage(["AR_EG"])).toBe("ar");
    expect(pickLanguage(["de", "it"])).toBe("en");
    expect(pickLanguage([])).toBe("en");
  });

  it("writes Arabic right to left, the others left to right", () => {
    expect(LANGUAGES.filter((l) => directionOf(l) === "rtl")).toEqual(["ar"]);
  });

  it("formats plurals by each language's rules", () => {
    const counts = (lang: "ru" | "ar" | "en") => {
      language.setAccount(lang);
      return [0, 1, 2, 3, 5, 11, 21, 100].map((count) => t("join.participants", { count }));
    };
    expect(counts("ru")).toEqual([
      "В собрании пока никого нет",
      "В собрании 1 участник",
      "В собрании 2 участника",
      "В собрании 3 участника",
      "В собрании 5 участников",
      "В собрании 11 участников",
      "В собрании 21 участник",
      "В собрании 100 участников",
    ]);
    expect(counts("ar")[1]).toBe("مشارك واحد في الاجتماع");
    expect(counts("ar")[2]).toBe("مشاركان في الاجتماع");
    expect(counts("en")[6]).toBe("21 participants in the meeting");
    expect(uiLocale()).toBe("en");
    language.setAccount(null);
  });

  it("fills placeholders", () => {
    language.setAccount("zh");
    expect(t("join.hostedBy", { name: "Ada" })).toBe("主持人：Ada");
    language.setAccount(null);
  });
});
