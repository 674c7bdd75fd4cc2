import { render } from "preact";
import { language } from "./i18n";
import { App } from "./ui/app";
import { installTestHook } from "./ui/testhook";
import { session } from "./ui/session";
import "./ui/prefs"; // the signed-in user's settings, language included, from the first page on
import "./ui/styles.css";

installTestHook();
void session.load();
const root = document.getElementById("app");
// The first render waits for the chosen language's catalogue (one small chunk), not longer than
// a moment: on a very slow network the page starts in English and switches when it arrives.
const firstLanguage = Promise.race([language.ready, new Promise((done) => setTimeout(done, 1500))]);
void firstLanguage.then(() => {
  if (root) render(<App />, root);
});
