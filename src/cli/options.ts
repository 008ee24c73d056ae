// The CLI's side of the options' schema (src/engine/options.ts): yargs options built from its entries (the flag is
// the name in kebab-case; help, type or choices, default), the same check as the library's naming the --flag, and
// the parsed arguments back as the library's options.
import type { InferredOptionTypes, Options } from "yargs";
import type { BooleanOption, IntegerOption, OptionName, OptionValues, StringOption } from "../engine/options";
import { checkOption, flagName } from "../engine/options";

/** An entry the command line can give: the library's adapter list is not one. */
type CliSpec = IntegerOption | StringOption | BooleanOption;

/** batchSize → batch-size, as flagName at run time. */
type Kebab<S extends string> = S extends `${infer C}${infer Rest}` ? `${C extends Lowercase<C> ? C : `-${Lowercase<C>}`}${Kebab<Rest>}` : S;

/** The yargs option of an entry, typed as yargs infers it: its choices or type, and its default where the CLI fills
 *  it in (an entry with a defaultDescription is left absent, for the library to default). */
type YargsOption<S extends CliSpec> = { describe: string } & (S extends { choices: readonly (infer C)[] } ? { choices: readonly C[] } : { type: S["type"] }) &
  (S extends { defaultDescription: string } ? { defaultDescription: string } : S extends { default: infer D } ? { default: D } : unknown);

type YargsOptions<T extends Record<string, CliSpec>> = { [K in keyof T & string as Kebab<K>]: YargsOption<T[K]> };

/** The parsed values of some entries, by their flags. */
export type ArgsOf<T extends Record<string, CliSpec>> = InferredOptionTypes<YargsOptions<T>>;

/** The yargs option of one entry; a command may still word its help for itself (`{ ...yargsOption(e), describe }`). */
export function yargsOption<S extends CliSpec>(spec: S): YargsOption<S> {
  const option: Options = { describe: spec.describe };
  if (spec.type === "string" && spec.choices !== undefined) option.choices = spec.choices;
  else option.type = spec.type;
  if (spec.defaultDescription !== undefined) option.defaultDescription = spec.defaultDescription;
  else if (spec.default !== undefined) option.default = spec.default;
  return option as YargsOption<S>;
}

/** For yargs' .options(): each entry under its flag, in the entries' order. */
export function yargsOptions<T extends Record<string, CliSpec>>(entries: T): YargsOptions<T> {
  return Object.fromEntries(Object.entries(entries).map(([name, spec]) => [flagName(name), yargsOption(spec)])) as YargsOptions<T>;
}

/** For yargs' .check(): each of `entries` that was given passes the library's check, the message naming its --flag;
 *  the error makes it a usage mistake (exit 2). */
export function checkArgs(args: Readonly<Record<string, unknown>>, entries: Readonly<Record<string, CliSpec>>): true {
  for (const name of Object.keys(entries) as OptionName[]) checkOption(name, args[flagName(name)], `--${flagName(name)}`);
  return true;
}

/** The parsed values of `entries` (by their flags) under the library's names: the options the library takes. */
export function optionValues<T extends Record<string, CliSpec>>(args: ArgsOf<T>, entries: T): OptionValues<T> {
  const parsed = args as Readonly<Record<string, unknown>>;
  return Object.fromEntries(Object.keys(entries).map((name) => [name, parsed[flagName(name)]])) as OptionValues<T>;
}
