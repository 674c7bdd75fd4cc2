import { HomePage } from "./pages/home";
import { JoinPage } from "./pages/join";
import { SignInPage, SignUpPage } from "./pages/auth";
import { VerifyPage } from "./pages/verify";
import { lazy } from "./lazy";
import { NotificationCenter } from "./notifications";
import { matchRoute, useGeneration, usePath, type Route } from "./router";

const CalendarPage = lazy(() => import("./pages/calendar").then((m) => m.CalendarPage));
const SettingsPage = lazy(() => import("./pages/settings").then((m) => m.SettingsPage));
const RsvpPage = lazy(() => import("./pages/rsvp").then((m) => m.RsvpPage));
const ForgotPage = lazy(() => import("./pages/reset").then((m) => m.ForgotPage));
const ResetPage = lazy(() => import("./pages/reset").then((m) => m.ResetPage));
const TranscriptPage = lazy(() => import("./pages/transcript").then((m) => m.TranscriptPage));
const RegisterPage = lazy(() => import("./pages/register").then((m) => m.RegisterPage));
const WatchPage = lazy(() => import("./meeting/audience/watch-page").then((m) => m.WatchPage));

function Page({ route, generation }: { route: Route; generation: number }) {
  switch (route.name) {
    case "signin":
      return <SignInPage next={route.next} />;
    case "signup":
      return <SignUpPage next={route.next} />;
    case "join":
      // Keyed by ref: a different meeting (or a fresh navigation, as Rejoin makes) is a fresh
      // page and a fresh Room.
      return <JoinPage key={`${route.ref}#${generation}`} meetingRef={route.ref} enter={route.enter} />;
    case "calendar":
      return <CalendarPage view={route.view} date={route.date} />;
    case "settings":
      return <SettingsPage />;
    case "rsvp":
      return <RsvpPage key={`${route.attendeeId}/${route.token}`} attendeeId={route.attendeeId} token={route.token}
        occurrence={route.occurrence} suggested={route.answer} />;
    case "verify":
      return <VerifyPage token={route.token} />;
    case "forgot":
      return <ForgotPage />;
    case "reset":
      return <ResetPage token={route.token} />;
    case "transcript":
      return <TranscriptPage key={`${route.meetingId}#${generation}`} meetingId={route.meetingId} language={route.language} />;
    case "live":
      return <WatchPage key={`${route.meeting}/${route.token}`} meeting={route.meeting} token={route.token} />;
    case "register":
      return <RegisterPage key={`${route.link}/${route.confirm ?? ""}`} link={route.link} confirm={route.confirm} />;
    case "home":
      return <HomePage />;
  }
}

export function App() {
  const route = matchRoute(usePath());
  const generation = useGeneration();
  return (
    <>
      <Page route={route} generation={generation} />
      <NotificationCenter raised={route.name === "join"} />
    </>
  );
}
