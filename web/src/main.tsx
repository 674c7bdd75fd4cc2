import { render } from "preact";
import { App } from "./ui/app";
import { installTestHook } from "./ui/testhook";
import { session } from "./ui/session";
import "./ui/styles.css";

installTestHook();
void session.load();
const root = document.getElementById("app");
if (root) render(<App />, root);
