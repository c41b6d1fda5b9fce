// Synthetic hand gestures over a proximity + RGB light sensor (an APDS-9960-like part), after
// TinyLLM's gesture task: Tap / Double tap / Hold, 50 readings per channel. A hand approaching raises
// proximity and shades the light channels; timing, peak height, ambient light colour and level, slow
// drift, sensor noise and rare glitches vary per sample, and the classes overlap at their edges
// (a slow tap looks like a short hold; a double tap with a short gap merges into one bump).
import type { Rng } from '../../util/rng.js';

export const GESTURE_LABELS = ['Tap', 'Double tap', 'Hold'] as const;
export type GestureLabel = (typeof GESTURE_LABELS)[number];
export const GESTURE_COLUMNS = ['proximity', 'red', 'green', 'blue'] as const;
export const GESTURE_STEPS = 50;
export const GESTURE_INSTRUCTION =
  'Classify the hand gesture as Tap, Double tap or Hold from 50 readings of a proximity sensor and an RGB light sensor.';

/** Ambient conditions around the sensor: light level and colour, proximity baseline. */
export interface GestureScene {
  light: number;
  rgb: [number, number, number];
  proxBase: number;
}

export function randomScene(rng: Rng): GestureScene {
  // Warm lamp .. daylight: colour ratios interpolate between the two.
  const warmth = rng.random();
  const rgb: [number, number, number] = [1.15 - 0.3 * warmth, 1.0, 0.7 + 0.45 * warmth];
  return { light: Math.exp(rng.normal(Math.log(180), 0.55)), rgb, proxBase: 4 + rng.random() * 14 };
}

/** One pulse of the hand over the sensor: ramps up, dwells, ramps down (values 0..1). */
function pulse(t: number, start: number, rise: number, dwell: number, fall: number): number {
  if (t < start) return 0;
  if (t < start + rise) return (t - start) / rise;
  if (t < start + rise + dwell) return 1;
  if (t < start + rise + dwell + fall) return 1 - (t - start - rise - dwell) / fall;
  return 0;
}

/** Proximity envelope (0..1 per step) of one gesture. */
function envelope(rng: Rng, label: GestureLabel, steps: number): Float64Array {
  const env = new Float64Array(steps);
  const u = (a: number, b: number) => a + rng.random() * (b - a);
  if (label === 'Tap') {
    const rise = u(1.5, 4);
    const dwell = u(0, 7);
    const start = u(3, steps - 20);
    for (let t = 0; t < steps; t++) env[t] = pulse(t, start, rise, dwell, u(2, 4));
  } else if (label === 'Double tap') {
    const rise = u(1.5, 3);
    const dwell1 = u(0, 3);
    const fall = u(1.5, 3);
    const gap = u(0.5, 8); // short gaps merge the two taps
    const start1 = u(2, steps - 30);
    const start2 = start1 + rise + dwell1 + fall + gap;
    const second = u(0.6, 1.05);
    const dwell2 = u(0, 3);
    for (let t = 0; t < steps; t++) env[t] = Math.max(pulse(t, start1, rise, dwell1, fall), second * pulse(t, start2, rise, dwell2, fall));
  } else {
    const rise = u(2, 6);
    const dwell = u(8, 30); // short holds overlap with slow taps
    const start = u(2, Math.max(3, steps - dwell - 10));
    const sag = rng.random() < 0.25 ? u(0.15, 0.45) : 0; // a hand drifting away and back mid-hold
    const sagAt = u(0.3, 0.7);
    for (let t = 0; t < steps; t++) {
      let e = pulse(t, start, rise, dwell, u(3, 6));
      const mid = start + rise + dwell * sagAt;
      e *= 1 - sag * Math.exp(-((t - mid) ** 2) / 4) + 0.04 * Math.sin(t * 1.7 + rise); // tremor
      env[t] = e;
    }
  }
  return env;
}

/**
 * One gesture sample: `steps` rows of [proximity, red, green, blue] as integers (proximity 0..255,
 * light counts 0..4095).
 */
export function gestureSample(rng: Rng, label: GestureLabel, scene: GestureScene, steps = GESTURE_STEPS): number[][] {
  const env = envelope(rng, label, steps);
  const peak = 110 + rng.random() * 140;
  const shade = 0.55 + rng.random() * 0.35; // how much a close hand darkens the light sensor
  const drift = rng.normal(0, 0.06); // ambient light drifting over the 2.5 s window
  const rows: number[][] = [];
  for (let t = 0; t < steps; t++) {
    const e = env[t];
    let prox = scene.proxBase + peak * e + rng.normal(0, 2.5);
    if (rng.random() < 0.01) prox += rng.normal(0, 40); // glitch
    const level = scene.light * (1 + (drift * t) / steps) * (1 - shade * Math.pow(e, 0.8));
    const row = [clamp(Math.round(prox), 0, 255)];
    for (let c = 0; c < 3; c++) row.push(clamp(Math.round(level * scene.rgb[c] + rng.normal(0, 3)), 0, 4095));
    rows.push(row);
  }
  return rows;
}

/** Readings with no hand near the sensor. */
function idleRows(rng: Rng, scene: GestureScene, steps: number): number[][] {
  const rows: number[][] = [];
  for (let t = 0; t < steps; t++) {
    const row = [clamp(Math.round(scene.proxBase + rng.normal(0, 2.5)), 0, 255)];
    for (let c = 0; c < 3; c++) row.push(clamp(Math.round(scene.light * scene.rgb[c] + rng.normal(0, 3)), 0, 4095));
    rows.push(row);
  }
  return rows;
}

/** A continuous unlabelled stream: idle stretches, gestures now and then, and the light changing scene. */
export function gestureStream(rng: Rng, rows: number, emit: (row: number[]) => void): void {
  let scene = randomScene(rng);
  for (let done = 0; done < rows; ) {
    if (rng.random() < 0.05) scene = randomScene(rng);
    const chunk = rng.random() < 0.4 ? idleRows(rng, scene, 10 + rng.int(40)) : gestureSample(rng, GESTURE_LABELS[rng.int(3)], scene);
    for (const row of chunk) if (done++ < rows) emit(row);
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
