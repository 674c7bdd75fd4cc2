/** `useT()`: the current language's `t`, re-rendering the component when the language changes. */
import { useEffect, useState } from "preact/hooks";
import { language, type Language, type Translate } from "./index";

export function useLanguage(): Language {
  const [value, setValue] = useState(language.value);
  useEffect(() => {
    setValue(language.value);
    return language.on("change", setValue);
  }, []);
  return value;
}

export function useT(): Translate {
  useLanguage();
  return language.t;
}
