// A verdict felt as well as seen: a tone (WebAudio, no sound file to download) and a
// vibration, each its own for good, already-seen and bad, so a scan is judged without
// looking at the screen.

const TONES = {
  accepted: { notes: [[880, 0.12]], vibrate: [80] },
  already: { notes: [[660, 0.08], [660, 0.08]], vibrate: [60, 60, 60] },
  waiting: { notes: [[520, 0.08]], vibrate: [40] },
  pending: { notes: [[520, 0.08]], vibrate: [40] },
  other_consignment: { notes: [[330, 0.25], [330, 0.25]], vibrate: [200, 100, 200] },
  rejected: { notes: [[330, 0.25], [330, 0.25]], vibrate: [200, 100, 200] },
  bad: { notes: [[200, 0.5], [160, 0.5]], vibrate: [400, 100, 400, 100, 400] },
};
let audio = null;

export function signal(category) {
  const tone = TONES[category] || TONES.bad;
  try {
    navigator.vibrate?.(tone.vibrate);
  } catch {}
  try {
    audio ??= new AudioContext();
    audio.resume?.();
    let at = audio.currentTime;
    for (const [freq, length] of tone.notes) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = tone === TONES.bad ? "square" : "sine";
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.2, at);
      gain.gain.exponentialRampToValueAtTime(0.001, at + length);
      osc.connect(gain).connect(audio.destination);
      osc.start(at);
      osc.stop(at + length);
      at += length + 0.06;
    }
  } catch {}
}
