/**
 * The livestream player: hls.js tuned for low latency (one-second segments, playing one segment
 * behind the live edge, catching up at up to 1.1x), the browser's own HLS where hls.js cannot run
 * (Safari on iOS). The audio rendition follows the interpretation channel listened to and the
 * subtitle track the captions language read, so the meeting's menus drive the stream too.
 *
 * hls.js is loaded on first use (it is large and only the audience needs it).
 */
import type Hls from "hls.js";
import type { ErrorData, HlsConfig } from "hls.js";
import { useEffect, useRef, useState } from "preact/hooks";
import { useT } from "../../../i18n/hook";
import { audioTrackFor, sameStream, subtitleTrackFor, withLatestToken, type TrackLike } from "../../../room/livestream";

/** hls.js settings for a one-second-segment live stream, a few seconds behind at most. */
export const LOW_LATENCY: Partial<HlsConfig> = {
  lowLatencyMode: true,
  liveSyncDurationCount: 1,
  liveMaxLatencyDurationCount: 4,
  maxLiveSyncPlaybackRate: 1.1,
  backBufferLength: 10,
  maxBufferLength: 8,
  // Renditions follow the meeting's menus; subtitles are drawn by the browser.
  renderTextTracksNatively: true,
  manifestLoadingTimeOut: 8_000,
  levelLoadingTimeOut: 8_000,
  fragLoadingTimeOut: 10_000,
};

/** After a fatal error that a reload cannot fix at once, try again this much later. */
const RETRY_MS = 3_000;

export type PlayerStatus = "loading" | "playing" | "stalled" | "muted" | "blocked" | "failed";

interface NativeAudioTrack {
  language: string;
  label: string;
  enabled: boolean;
}

interface NativeTrackList<T> {
  readonly length: number;
  [index: number]: T;
}

type NativeVideo = HTMLVideoElement & { audioTracks?: NativeTrackList<NativeAudioTrack> };

export function HlsPlayer({ url, listening, reading, original, testid = "hls-player", onTracks }: {
  /** The master playlist (a fresh token comes with each livestream.updated). */
  url: string;
  /** The interpretation channel listened to (null: the floor). */
  listening: string | null;
  /** The captions reading: "off", "original" or a language. */
  reading: string;
  /** The floor's spoken language, for "original" subtitles. */
  original?: string | null;
  testid?: string;
  /** The stream's audio renditions and subtitle tracks, when they are known. */
  onTracks?: (audio: readonly TrackLike[], subtitles: readonly TrackLike[]) => void;
}) {
  const t = useT();
  const videoRef = useRef<HTMLVideoElement>(null);
  const hlsRef = useRef<Hls | null>(null);
  const urlRef = useRef(url);
  const [engine, setEngine] = useState<"hls.js" | "native" | "none">("none");
  const [status, setStatus] = useState<PlayerStatus>("loading");
  const [audioTracks, setAudioTracks] = useState<TrackLike[]>([]);
  const [subtitleTracks, setSubtitleTracks] = useState<TrackLike[]>([]);
  const [audioIndex, setAudioIndex] = useState(-1);
  const [subtitleIndex, setSubtitleIndex] = useState(-1);
  // The source is (re)loaded when the stream changes, not when only its token does.
  const [source, setSource] = useState(url);
  urlRef.current = url;
  useEffect(() => {
    if (!sameStream(source, url)) setSource(url);
  }, [url, source]);

  useEffect(() => {
    const video = videoRef.current;
    if (!video) return;
    let disposed = false;
    let retry: ReturnType<typeof setTimeout> | null = null;
    setStatus("loading");

    const play = async () => {
      try {
        await video.play();
      } catch (err) {
        if (disposed) return;
        // Sound needs a gesture on this page: play muted, and offer the sound.
        if (err instanceof DOMException && err.name === "NotAllowedError") {
          video.muted = true;
          try {
            await video.play();
            setStatus("muted");
          } catch {
            setStatus("blocked");
          }
        }
      }
    };

    const start = async () => {
      const { default: HlsClass } = await import("hls.js");
      if (disposed) return;
      if (!HlsClass.isSupported()) {
        if (video.canPlayType("application/vnd.apple.mpegurl")) {
          setEngine("native");
          video.src = urlRef.current;
          const readNative = () => {
            const list = (video as NativeVideo).audioTracks;
            const tracks: TrackLike[] = [];
            for (let i = 0; list && i < list.length; i++) {
              const a = list[i];
              if (a) tracks.push({ lang: a.language, name: a.label, default: i === 0 });
            }
            setAudioTracks(tracks);
            const subs: TrackLike[] = [];
            for (const tt of Array.from(video.textTracks)) if (tt.kind === "subtitles" || tt.kind === "captions") subs.push({ lang: tt.language, name: tt.label });
            setSubtitleTracks(subs);
          };
          video.addEventListener("loadedmetadata", readNative);
          void play();
        } else {
          setEngine("none");
          setStatus("failed");
        }
        return;
      }
      setEngine("hls.js");
      const hls = new HlsClass({
        ...LOW_LATENCY,
        // Each livestream.updated brings a fresh token: every file is asked for with the newest.
        xhrSetup: (xhr, fileUrl) => xhr.open("GET", withLatestToken(fileUrl, new URL(urlRef.current, location.href).toString()), true),
      });
      hlsRef.current = hls;
      hls.on(HlsClass.Events.AUDIO_TRACKS_UPDATED, (_e, data) => {
        setAudioTracks(data.audioTracks.map((a) => ({ lang: a.lang, name: a.name, default: a.default })));
      });
      hls.on(HlsClass.Events.AUDIO_TRACK_SWITCHED, (_e, data) => setAudioIndex(data.id));
      hls.on(HlsClass.Events.SUBTITLE_TRACKS_UPDATED, (_e, data) => {
        setSubtitleTracks(data.subtitleTracks.map((s) => ({ lang: s.lang, name: s.name, default: s.default })));
      });
      hls.on(HlsClass.Events.SUBTITLE_TRACK_SWITCH, (_e, data) => setSubtitleIndex(data.id));
      hls.on(HlsClass.Events.MANIFEST_PARSED, () => void play());
      hls.on(HlsClass.Events.ERROR, (_e, data: ErrorData) => {
        if (!data.fatal || disposed) {
          if (data.details === HlsClass.ErrorDetails.BUFFER_STALLED_ERROR) setStatus("stalled");
          return;
        }
        if (data.type === HlsClass.ErrorTypes.MEDIA_ERROR) {
          hls.recoverMediaError();
          return;
        }
        // A network error: the token may have expired, or the encoder is restarting. Load the
        // latest URL again after a pause (the playlist continues where it was).
        setStatus("stalled");
        if (retry === null) {
          retry = setTimeout(() => {
            retry = null;
            if (disposed) return;
            hls.loadSource(urlRef.current);
            hls.startLoad();
          }, RETRY_MS);
        }
      });
      hls.attachMedia(video);
      hls.loadSource(urlRef.current);
    };
    void start().catch(() => !disposed && setStatus("failed"));

    return () => {
      disposed = true;
      if (retry !== null) clearTimeout(retry);
      hlsRef.current?.destroy();
      hlsRef.current = null;
      video.removeAttribute("src");
      video.load();
      setAudioTracks([]);
      setSubtitleTracks([]);
    };
  }, [source]);

  useEffect(() => onTracks?.(audioTracks, subtitleTracks), [audioTracks, subtitleTracks]);

  // The channel listened to picks the audio rendition.
  useEffect(() => {
    const wanted = audioTrackFor(audioTracks, listening);
    if (wanted < 0) return;
    const hls = hlsRef.current;
    if (hls) {
      if (hls.audioTrack !== wanted) hls.audioTrack = wanted;
      setAudioIndex(wanted);
      return;
    }
    const list = (videoRef.current as NativeVideo | null)?.audioTracks;
    for (let i = 0; list && i < list.length; i++) {
      const a = list[i];
      if (a) a.enabled = i === wanted;
    }
    setAudioIndex(wanted);
  }, [audioTracks, listening]);

  // The captions language picks the subtitle track (or none).
  useEffect(() => {
    const wanted = subtitleTrackFor(subtitleTracks, reading, original ?? null);
    const hls = hlsRef.current;
    if (hls) {
      hls.subtitleDisplay = wanted >= 0;
      if (hls.subtitleTrack !== wanted) hls.subtitleTrack = wanted;
    } else {
      const subs = Array.from(videoRef.current?.textTracks ?? []).filter((tt) => tt.kind === "subtitles" || tt.kind === "captions");
      subs.forEach((tt, i) => (tt.mode = i === wanted ? "showing" : "disabled"));
    }
    setSubtitleIndex(wanted);
  }, [subtitleTracks, reading, original]);

  const current = audioTracks[audioIndex];
  return (
    <div class="hls-player" data-testid={testid} data-engine={engine} data-status={status}
      data-audio-track={audioIndex} data-audio-lang={current?.lang ?? ""} data-audio-tracks={audioTracks.length}
      data-subtitle-track={subtitleIndex} data-subtitle-tracks={subtitleTracks.length}>
      <video ref={videoRef} class="hls-video" data-testid={`${testid}-video`} playsInline autoPlay
        aria-label={t("audience.streamVideo")}
        onPlaying={() => setStatus((s) => (s === "muted" || videoRef.current?.muted ? "muted" : "playing"))}
        onWaiting={() => setStatus((s) => (s === "loading" ? s : "stalled"))} />
      {(status === "muted" || status === "blocked") && (
        <button type="button" class="btn primary hls-sound" data-testid={`${testid}-sound`}
          onClick={() => {
            const video = videoRef.current;
            if (!video) return;
            video.muted = false;
            void video.play().then(() => setStatus("playing"), () => undefined);
          }}>
          {t("meeting.turnOnSound")}
        </button>
      )}
      <p class="hls-status" role="status" aria-live="polite">
        {status === "loading" ? t("audience.streamLoading")
          : status === "stalled" ? t("audience.streamStalled")
          : status === "failed" ? t("audience.streamUnsupported")
          : ""}
      </p>
    </div>
  );
}
