// Synthetic robot localization from environmental readings, after TinyLLM's indoor-localization
// task: a robot stops at a Charging station, the Entrance or a Server rack and logs pressure (hPa),
// humidity (%), temperature (°C), light red/green/blue and sound level (dB). Each place has its own
// climate, light and noise, but weather, time of day and slow sensor drift shift every reading, so no
// single channel separates the classes (pressure is almost pure weather; lights at night blur them).
import type { Rng } from '../../util/rng.js';

export const ROBOT_LABELS = ['Charging station', 'Entrance', 'Server rack'] as const;
export type RobotLabel = (typeof ROBOT_LABELS)[number];
export const ROBOT_COLUMNS = ['pressure', 'humidity', 'temperature', 'red', 'green', 'blue', 'sound'] as const;
export const ROBOT_STEPS = 10;
export const ROBOT_INSTRUCTION =
  'Where is the robot: Charging station, Entrance or Server rack? Each row is [pressure hPa, humidity %, temperature C, red, green, blue, sound dB].';

/** Conditions shared by every place at one moment: weather, building temperature, time of day, drift. */
export interface RobotContext {
  pressure: number;
  outdoorTemp: number;
  outdoorHumidity: number;
  /** 0 = night .. 1 = midday. */
  daylight: number;
  /** Accumulated sensor drift (temperature °C, humidity %). */
  drift: [number, number];
}

export function randomContext(rng: Rng, driftAmount = 0): RobotContext {
  return {
    pressure: rng.normal(1013, 7),
    outdoorTemp: rng.normal(14, 7),
    outdoorHumidity: Math.min(98, Math.max(20, rng.normal(65, 15))),
    daylight: Math.max(0, Math.sin(Math.PI * rng.random() * 1.3)),
    drift: [driftAmount * 0.8, driftAmount * -2],
  };
}

interface Place {
  temp: (c: RobotContext) => number;
  humidity: (c: RobotContext) => number;
  light: (c: RobotContext) => [number, number, number];
  sound: number;
  soundStd: number;
  pressure: number;
}

const PLACES: Record<RobotLabel, Place> = {
  'Charging station': {
    temp: (c) => 22.5 + 0.08 * (c.outdoorTemp - 14),
    humidity: (c) => 38 + 0.15 * (c.outdoorHumidity - 65),
    light: () => [210, 185, 140], // warm ceiling light, always on
    sound: 43,
    soundStd: 4,
    pressure: 0,
  },
  Entrance: {
    temp: (c) => 20 + 0.3 * (c.outdoorTemp - 14),
    humidity: (c) => 48 + 0.45 * (c.outdoorHumidity - 65),
    light: (c) => {
      const day = c.daylight;
      return [120 + 260 * day, 115 + 290 * day, 105 + 330 * day]; // glass doors: daylight, lamps at night
    },
    sound: 52,
    soundStd: 8,
    pressure: 0.25,
  },
  'Server rack': {
    temp: (c) => 26.5 + 0.03 * (c.outdoorTemp - 14),
    humidity: () => 33,
    light: () => [70, 105, 135], // dim room, blue/green status LEDs
    sound: 62,
    soundStd: 4,
    pressure: -0.15,
  },
};

/**
 * `steps` consecutive readings at `label` as rows of ROBOT_COLUMNS (rounded like a real logger:
 * 0.1 hPa, 0.1 %, 0.01 °C, integer light counts, 0.1 dB).
 */
export function robotSample(rng: Rng, label: RobotLabel, ctx: RobotContext, steps = ROBOT_STEPS): number[][] {
  const p = PLACES[label];
  const temp = p.temp(ctx) + ctx.drift[0] + rng.normal(0, 1.1);
  const hum = p.humidity(ctx) + ctx.drift[1] + rng.normal(0, 4);
  const level = Math.exp(rng.normal(0, 0.25)); // where exactly the robot stands, shadows
  const light = p.light(ctx).map((x) => x * level);
  const sound = p.sound + rng.normal(0, p.soundStd * 0.6);
  const rows: number[][] = [];
  for (let t = 0; t < steps; t++) {
    const burst = rng.random() < 0.08 ? Math.abs(rng.normal(0, 12)) : 0; // a door, footsteps, a cart
    rows.push([
      round(ctx.pressure + p.pressure + rng.normal(0, 0.12), 1),
      round(hum + rng.normal(0, 0.6), 1),
      round(temp + rng.normal(0, 0.15), 2),
      ...light.map((x) => Math.max(0, Math.round(x + rng.normal(0, 6)))),
      round(sound + burst + rng.normal(0, p.soundStd * 0.5), 1),
    ]);
  }
  return rows;
}

/** An unlabelled patrol log: the robot dwells at random places while weather, daylight and drift evolve. */
export function robotStream(rng: Rng, rows: number, emit: (row: number[]) => void): void {
  let ctx = randomContext(rng);
  for (let done = 0; done < rows; ) {
    ctx = {
      pressure: ctx.pressure + rng.normal(0, 0.8),
      outdoorTemp: ctx.outdoorTemp + rng.normal(0, 0.7),
      outdoorHumidity: Math.min(98, Math.max(20, ctx.outdoorHumidity + rng.normal(0, 3))),
      daylight: Math.max(0, Math.min(1, ctx.daylight + rng.normal(0, 0.1))),
      drift: [ctx.drift[0] + rng.normal(0, 0.02), ctx.drift[1] + rng.normal(0, 0.05)],
    };
    for (const row of robotSample(rng, ROBOT_LABELS[rng.int(3)], ctx, 5 + rng.int(20))) if (done++ < rows) emit(row);
  }
}

function round(x: number, decimals: number): number {
  const k = 10 ** decimals;
  return Math.round(x * k) / k;
}
