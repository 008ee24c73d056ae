// Typed reads of JSON config fields with a default when absent; a wrong type is an error naming file and key.
import { Specter2Error } from "../../errors";

/** A JSON object as read from a config file, its fields not yet checked. */
export type Json = Record<string, unknown>;

function field<T>(obj: Json, key: string, file: string, fallback: T, ok: (v: unknown) => boolean, expected: string): T {
  const v = obj[key];
  if (v === undefined) return fallback;
  if (!ok(v)) throw new Specter2Error("BAD_CHECKPOINT", `${file}: "${key}" is ${JSON.stringify(v)}, expected ${expected}`, { file, field: key });
  return v as T;
}

export function positiveInt(obj: Json, key: string, file: string, fallback: number): number {
  return field(obj, key, file, fallback, (v) => Number.isSafeInteger(v) && (v as number) > 0, "a positive integer");
}

export function nonNegativeInt(obj: Json, key: string, file: string, fallback: number): number {
  return field(obj, key, file, fallback, (v) => Number.isSafeInteger(v) && (v as number) >= 0, "a non-negative integer");
}

export function positiveNumber(obj: Json, key: string, file: string, fallback: number): number {
  return field(obj, key, file, fallback, (v) => typeof v === "number" && Number.isFinite(v) && v > 0, "a positive number");
}

export function boolean(obj: Json, key: string, file: string, fallback: boolean): boolean {
  return field(obj, key, file, fallback, (v) => typeof v === "boolean", "true or false");
}

export function string(obj: Json, key: string, file: string, fallback: string): string {
  return field(obj, key, file, fallback, (v) => typeof v === "string", "a string");
}
