import { render } from "preact";
import "./i18n"; // sets the page's lang and dir before the first render
import { App } from "./ui/app";
import { installTestHook } from "./ui/testhook";
import { session } from "./ui/session";
import "./ui/prefs"; // the signed-in user's settings, language included, from the first page on
import "./ui/styles.css";

installTestHook();
void session.load();
const root = document.getElementById("app");
if (root) render(<App />, root);
