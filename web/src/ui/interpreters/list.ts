/**
 * The interpreters editor's list, as pure functions: what the server answered turned into what
 * it takes back, and adding someone by email with one language or a pair (docs/rest.md,
 * "Interpreters"). The server checks everything again.
 */
import { uiLocale } from "../../i18n";
import { MAX_INTERPRETERS, type Interpreter, type InterpreterIn } from "../../protocol/interpreters";

/** The languages offered for an interpreter: the six UN languages, in the order menus list them. */
export const OFFERED_LANGUAGES = ["ar", "zh", "en", "fr", "ru", "es"] as const;

/** A language's name in the UI's language ("French", "français", "法语"); the code if unknown. */
export function languageLabel(code: string, locale = uiLocale()): string {
  try {
    return new Intl.DisplayNames([locale], { type: "language" }).of(code) ?? code;
  } catch {
    return code;
  }
}

/** Why an addition was refused (a catalogue key under `namedInterpreters.error`). */
export type AddError = "email" | "twice" | "languages" | "tooMany";

// As the server's own check: something, an @, a domain with a dot; no spaces or controls.
const EMAIL = /^[^@\s\u0000-\u001f\u007f]+@[^@\s\u0000-\u001f\u007f]+\.[^@\s.\u0000-\u001f\u007f]+$/;

/** The list to send back: someone named by email stays named by email (their account, when
 * they have one, is found again by the server); someone named by account keeps its name. */
export function toInput(items: readonly Interpreter[]): InterpreterIn[] {
  return items.map((i) =>
    i.email !== null
      ? { email: i.email, display_name: i.display_name, languages: [...i.languages] }
      : { user_id: i.user_id ?? "", languages: [...i.languages] },
  );
}

/** One target language, or two different ones; null when the choice is not one of those. */
export function chosenLanguages(first: string, second: string): string[] | null {
  const a = first.trim();
  const b = second.trim();
  if (!a) return null;
  if (!b) return [a];
  return a === b ? null : [a, b].sort();
}

/** The list with someone added by email, or why not. */
export function addByEmail(
  list: readonly InterpreterIn[],
  email: string,
  first: string,
  second: string,
): InterpreterIn[] | AddError {
  const address = email.trim().toLowerCase();
  if (address.length > 254 || !EMAIL.test(address)) return "email";
  if (list.some((i) => i.email?.toLowerCase() === address)) return "twice";
  const languages = chosenLanguages(first, second);
  if (!languages) return "languages";
  if (list.length >= MAX_INTERPRETERS) return "tooMany";
  return [...list, { email: address, languages }];
}

/** The list without its `index`th entry. */
export function removeAt(list: readonly InterpreterIn[], index: number): InterpreterIn[] {
  return list.filter((_, i) => i !== index);
}

/** Who an entry is, for the list: their name, else their address. */
export function labelOf(item: InterpreterIn, known: ReadonlyMap<string, string>): string {
  if (item.display_name) return item.display_name;
  if (item.email) return item.email;
  return known.get(item.user_id ?? "") ?? "";
}
