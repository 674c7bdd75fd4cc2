/**
 * Microphone level for the meter on the join page and the control bar.
 */
export function watchLevel(track: MediaStreamTrack, onLevel: (level: number) => void): () => void {
  const Ctx: typeof AudioContext | undefined =
    globalThis.AudioContext ?? (globalThis as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
  if (!Ctx) return () => undefined;
  const ctx = new Ctx();
  const source = ctx.createMediaStreamSource(new MediaStream([track]));
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 512;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  let frame = 0;
  let stopped = false;
  const loop = () => {
    if (stopped) return;
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    const rms = Math.sqrt(sum / samples.length);
    // Speech sits around 0.02..0.2 RMS; map it onto 0..1 on a log-like curve.
    onLevel(track.enabled ? Math.min(1, Math.sqrt(rms * 8)) : 0);
    frame = requestAnimationFrame(loop);
  };
  void ctx.resume().catch(() => undefined);
  frame = requestAnimationFrame(loop);
  return () => {
    stopped = true;
    cancelAnimationFrame(frame);
    source.disconnect();
    void ctx.close().catch(() => undefined);
  };
}
