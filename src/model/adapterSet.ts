// Many adapters next to one base. Switching only changes which Adapter object a forward pass is
// handed: no base tensor is touched, copied or created.
import type { Adapter } from "./adapter";
import { Specter2Error } from "../errors";

export class AdapterSet {
  private readonly adapters = new Map<string, Adapter>();

  add(name: string, adapter: Adapter): void {
    if (this.adapters.has(name)) throw new Specter2Error("BAD_INPUT", `adapter "${name}" is already loaded; unload it first`, { adapter: name });
    this.adapters.set(name, adapter);
  }

  names(): string[] {
    return [...this.adapters.keys()];
  }

  has(name: string): boolean {
    return this.adapters.has(name);
  }

  /** The adapter called `name`, or null for the bare base model. */
  get(name: string | null): Adapter | null {
    if (name === null) return null;
    const a = this.adapters.get(name);
    if (!a) throw unknownAdapter(name, this.names());
    return a;
  }

  unload(name: string): void {
    this.get(name)?.dispose();
    this.adapters.delete(name);
  }

  dispose(): void {
    for (const a of this.adapters.values()) a.dispose();
    this.adapters.clear();
  }
}

/** The error (UNKNOWN_ADAPTER, with `adapter`) for an adapter name not among those loaded, naming them. */
export function unknownAdapter(name: string, loaded: readonly string[]): Specter2Error {
  return new Specter2Error("UNKNOWN_ADAPTER", `unknown adapter "${name}" (loaded: ${loaded.join(", ") || "none"})`, { adapter: name });
}
