/**
 * The watch page (`/live/{meeting}/{token}`): the livestream alone, for people who only watch
 * (no account, no meeting connection). The link a host copies carries the playlist's token; the
 * page picks the audio rendition (the floor or a language channel) and the subtitles itself.
 */
import { useState } from "preact/hooks";
import { language } from "../../../i18n";
import { useT } from "../../../i18n/hook";
import { LanguageMenu } from "../../../i18n/menu";
import { languageLabel } from "../../interpreters/list";
import { playlistUrl, type TrackLike } from "../../../room/livestream";
import { Brand } from "../../pages/common";
import { HlsPlayer } from "./hls-player";
import "./audience.css";

export function WatchPage({ meeting, token }: { meeting: string; token: string }) {
  const t = useT();
  const url = playlistUrl(meeting, token);
  const [audio, setAudio] = useState<readonly TrackLike[]>([]);
  const [subtitles, setSubtitles] = useState<readonly TrackLike[]>([]);
  const [listening, setListening] = useState<string | null>(null);
  const [reading, setReading] = useState("off");
  const floor = Math.max(0, audio.findIndex((a) => a.default));
  const name = (track: TrackLike) => (track.lang && track.lang !== "und" ? languageLabel(track.lang) : track.name ?? "?");
  return (
    <div class="page watch-page">
      <header class="topbar">
        <Brand />
        <LanguageMenu testid="watch-language" onChange={(chosen) => chosen && language.choose(chosen)} />
      </header>
      <main class="watch-main" aria-labelledby="watch-title">
        <h1 id="watch-title" class="sr-only">{t("audience.watchTitle")}</h1>
        {url === null ? (
          <p class="error" role="alert" data-testid="watch-invalid">{t("audience.watchInvalid")}</p>
        ) : (
          <>
            <HlsPlayer url={url} listening={listening} reading={reading} testid="watch-player"
              onTracks={(a, s) => {
                setAudio(a);
                setSubtitles(s);
              }} />
            <div class="row watch-options">
              {audio.length > 1 && (
                <label>
                  {t("interpretation.listen")}
                  <select data-testid="watch-audio" value={listening ?? ""}
                    onChange={(e) => setListening(e.currentTarget.value || null)}>
                    {audio.map((track, i) => (
                      <option key={i} value={i === floor ? "" : track.lang ?? ""} data-testid="watch-audio-option">
                        {i === floor ? t("interpretation.floor") : name(track)}
                      </option>
                    ))}
                  </select>
                </label>
              )}
              {subtitles.length > 0 && (
                <label>
                  {t("audience.subtitles")}
                  <select data-testid="watch-subtitles" value={reading} onChange={(e) => setReading(e.currentTarget.value)}>
                    <option value="off">{t("audience.subtitlesOff")}</option>
                    {subtitles.map((track, i) => <option key={i} value={track.lang ?? ""}>{name(track)}</option>)}
                  </select>
                </label>
              )}
            </div>
          </>
        )}
      </main>
    </div>
  );
}
