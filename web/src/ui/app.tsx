import { HomePage } from "./pages/home";
import { JoinPage } from "./pages/join";
import { SignInPage, SignUpPage } from "./pages/auth";
import { matchRoute, usePath } from "./router";

export function App() {
  const path = usePath();
  const route = matchRoute(path);
  switch (route.name) {
    case "signin":
      return <SignInPage next={route.next} />;
    case "signup":
      return <SignUpPage next={route.next} />;
    case "join":
      // Keyed by ref: a different meeting is a fresh page (and a fresh Room).
      return <JoinPage key={route.ref} meetingRef={route.ref} enter={route.enter} />;
    case "home":
      return <HomePage />;
  }
}
