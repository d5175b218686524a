/** A colour per protocol without a list of protocols: the hue comes from a hash of the name, so a protocol
 * the dashboard has never heard of gets one too, the same on every page load and in every view (badges,
 * chart series). Pure functions. */

/** Hues are spread over this many slots, 30° apart, so that two protocols in different slots are told
 * apart at a glance (two names may share a slot: it is a hash). */
export const HUE_SLOTS = 12;

/** 32-bit FNV-1a of the UTF-16 code units (for the ASCII names of protocols: of their bytes). */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** MurmurHash3's 32-bit finalizer: spreads every input bit over the output, so that names differing in
 * one letter land in unrelated slots. */
export function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The hue (0–330 in steps of 30) of a protocol. */
export function protocolHue(name: string): number {
  return (fmix32(fnv1a32(name)) % HUE_SLOTS) * (360 / HUE_SLOTS);
}

/** The inline style of a protocol badge: the hue as a CSS custom property; styles.css turns it into
 * background and text colours for the light and the dark theme. */
export function protocolStyle(name: string): Record<string, string> {
  return { "--proto-hue": String(protocolHue(name)) };
}

/** A line/area colour of a protocol for charts, readable on both themes. */
export function protocolColor(name: string): string {
  return `hsl(${protocolHue(name)} 70% 50%)`;
}
