/**
 * The client's languages: i18next with ICU messages (plurals, numbers), the language chosen by
 * the user (server settings), the guest (localStorage) or the browser (navigator.languages), and
 * the page's `lang` and `dir` following it. UI code reads strings through `useT()` (components)
 * or `t()` (elsewhere); the catalogues live in ./locales, English being the reference.
 *
 * English is in the main bundle (it is every message's fallback); each other catalogue is a chunk
 * of its own, fetched when its language is first chosen, so a page loads one language, not six.
 * `language.ready` settles once the first language is in place (main.tsx waits for it before the
 * first render); a language chosen later takes effect when its catalogue has arrived.
 */
import i18next, { type i18n as I18n } from "i18next";
import ICU from "i18next-icu";
import { Emitter } from "../protocol/emitter";
import en from "./locales/en.json";

/** The six official languages of the United Nations, in the order a menu lists them. */
export const LANGUAGES = ["ar", "zh", "en", "fr", "ru", "es"] as const;
export type Language = (typeof LANGUAGES)[number];

/** Each language's name in itself: what a language menu shows. */
export const LANGUAGE_NAMES: Record<Language, string> = {
  ar: "العربية",
  zh: "中文",
  en: "English",
  fr: "Français",
  ru: "Русский",
  es: "Español",
};

export type Catalogue = Record<string, string>;

type Module = { default: Catalogue };
const LOADERS: Record<Language, () => Promise<Module>> = {
  ar: () => import("./locales/ar.json"),
  zh: () => import("./locales/zh.json"),
  en: () => Promise.resolve({ default: en }),
  fr: () => import("./locales/fr.json"),
  ru: () => import("./locales/ru.json"),
  es: () => import("./locales/es.json"),
};
const loaded = new Map<Language, Catalogue>([["en", en]]);
const loading = new Map<Language, Promise<Catalogue>>();

/** A language's catalogue, fetched once (its chunk) and kept. */
export function loadCatalogue(lang: Language): Promise<Catalogue> {
  const have = loaded.get(lang);
  if (have) return Promise.resolve(have);
  let pending = loading.get(lang);
  if (!pending) {
    pending = LOADERS[lang]().then(
      (module) => {
        loaded.set(lang, module.default);
        loading.delete(lang);
        return module.default;
      },
      (error: unknown) => {
        loading.delete(lang); // a later choice tries again
        throw error;
      },
    );
    loading.set(lang, pending);
  }
  return pending;
}

/** Every catalogue (for tests and tools: the client itself loads only what it shows). */
export async function loadAllCatalogues(): Promise<Record<Language, Catalogue>> {
  const entries = await Promise.all(LANGUAGES.map(async (l) => [l, await loadCatalogue(l)] as const));
  return Object.fromEntries(entries) as Record<Language, Catalogue>;
}

const RTL: ReadonlySet<Language> = new Set<Language>(["ar"]);
const STORAGE_KEY = "convene.language";

export function isLanguage(value: unknown): value is Language {
  return typeof value === "string" && (LANGUAGES as readonly string[]).includes(value);
}

export function directionOf(language: Language): "rtl" | "ltr" {
  return RTL.has(language) ? "rtl" : "ltr";
}

/** The best of the six for a browser's preference list ("fr-CA" → fr, "zh-Hans-CN" → zh), else English. */
export function pickLanguage(preferred: readonly string[]): Language {
  for (const tag of preferred) {
    const base = tag.toLowerCase().split(/[-_]/)[0];
    if (isLanguage(base)) return base;
  }
  return "en";
}

function browserLanguages(): readonly string[] {
  if (typeof navigator === "undefined") return [];
  return navigator.languages?.length ? navigator.languages : [navigator.language];
}

function storedLanguage(): Language | null {
  try {
    const value = globalThis.localStorage?.getItem(STORAGE_KEY);
    return isLanguage(value) ? value : null;
  } catch {
    return null; // storage blocked: the browser's language it is
  }
}

function makeInstance(): I18n {
  const instance = i18next.createInstance();
  void instance.use(ICU).init({
    lng: "en",
    fallbackLng: "en",
    resources: { en: { translation: en } },
    initAsync: false,
    // Keys are dotted names; the catalogues are flat, so neither separator means anything.
    keySeparator: false,
    nsSeparator: false,
    returnNull: false,
    interpolation: { escapeValue: false }, // Preact escapes text itself
  });
  return instance;
}

export type Params = Record<string, string | number | Date>;
export type Translate = (key: string, params?: Params) => string;

class LanguageStore extends Emitter<{ change: Language }> {
  private instance: I18n = makeInstance();
  /** The language shown now (its catalogue is loaded). */
  value: Language = "en";
  /** The language asked for last: `value` once its catalogue has arrived. */
  private wanted: Language = "en";
  /** The user's setting from the server, when signed in: it beats the guest's choice. */
  private account: Language | null = null;
  /** Settles when the first language is shown (English if its catalogue could not be fetched). */
  readonly ready: Promise<void>;

  constructor() {
    super();
    this.apply();
    this.ready = this.set(storedLanguage() ?? pickLanguage(browserLanguages()));
  }

  readonly t: Translate = (key, params) => this.instance.t(key, params ?? {});

  /** A guest's (or a signed-in user's) choice made in this browser; kept in localStorage. */
  choose(language: Language): Promise<void> {
    try {
      globalThis.localStorage?.setItem(STORAGE_KEY, language);
    } catch {
      // storage blocked: the choice lasts until the page is left
    }
    return this.set(language);
  }

  /** The signed-in user's setting (null: none, or signed out): the browser's choice otherwise. */
  setAccount(language: Language | null): Promise<void> {
    this.account = language;
    return this.set(language ?? storedLanguage() ?? pickLanguage(browserLanguages()));
  }

  get accountLanguage(): Language | null {
    return this.account;
  }

  private set(language: Language): Promise<void> {
    this.wanted = language;
    if (language === this.value) return Promise.resolve();
    const catalogue = loaded.get(language);
    if (catalogue) {
      this.show(language, catalogue); // at once: no flash of the previous language
      return Promise.resolve();
    }
    return loadCatalogue(language).then(
      (fetched) => {
        if (this.wanted === language) this.show(language, fetched);
      },
      () => undefined, // offline, say: the current language stays; choosing again retries
    );
  }

  private show(language: Language, catalogue: Catalogue): void {
    if (!this.instance.hasResourceBundle(language, "translation")) {
      this.instance.addResourceBundle(language, "translation", catalogue);
    }
    this.value = language;
    void this.instance.changeLanguage(language);
    this.apply();
    this.emit("change", language);
  }

  private apply(): void {
    if (typeof document === "undefined") return;
    document.documentElement.lang = this.value;
    document.documentElement.dir = directionOf(this.value);
  }
}

export const language = new LanguageStore();

/** A string of the current language (outside components; components use `useT()`). */
export const t: Translate = (key, params) => language.t(key, params);

/** The BCP 47 locale to format dates, times and numbers in: the UI's language. */
export function uiLocale(): string {
  return language.value === "zh" ? "zh-Hans" : language.value;
}

/**
 * Text from elsewhere (a display name, a title) isolated for the bidi algorithm, as `<bdi>` does
 * (U+2068 FIRST STRONG ISOLATE … U+2069 POP DIRECTIONAL ISOLATE), for a string put inside a
 * translated message: an Arabic name in English text, or a name made of bidi controls, cannot
 * reorder the text around it.
 */
export function isolate(text: string): string {
  return `\u2068${text}\u2069`;
}
