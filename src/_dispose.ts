/**
 * `Symbol.asyncDispose`, typed so the published declarations compile whether
 * or not the reader's lib declares it (`esnext.disposable`, or `@types/node`,
 * which declares it too). Where it is declared, `asyncDispose` has its type,
 * so `await using` takes a supervisor; where it is not, `asyncDispose` has
 * the type of a symbol of its own, and the types still compile.
 *
 * @module
 */

/** A key that no lib declares: the type of `asyncDispose` where `Symbol.asyncDispose` is unknown. */
declare const undeclared: unique symbol;

/** The type of `Symbol.asyncDispose` where the lib declares it, else `symbol`. */
type Declared = SymbolConstructor extends { readonly asyncDispose: infer Key extends symbol } ? Key
  : symbol;

/**
 * The type of `Symbol.asyncDispose` where the lib declares it as a `unique
 * symbol` (as TypeScript's lib and `@types/node` do), else the type of
 * `undeclared`: a computed key in a declaration must be a unique symbol.
 */
export type AsyncDisposeKey = symbol extends Declared ? typeof undeclared : Declared;

/** `Symbol.asyncDispose`, read once, when the module loads. */
export const asyncDispose: AsyncDisposeKey = Symbol.asyncDispose as AsyncDisposeKey;

/** A key that no lib declares: the type of `dispose` where `Symbol.dispose` is unknown. */
declare const undeclaredSync: unique symbol;

/** The type of `Symbol.dispose` where the lib declares it, else `symbol`. */
type DeclaredSync = SymbolConstructor extends { readonly dispose: infer Key extends symbol } ? Key
  : symbol;

/** The type of `Symbol.dispose` where the lib declares it as a `unique symbol`, as above. */
export type DisposeKey = symbol extends DeclaredSync ? typeof undeclaredSync : DeclaredSync;

/** `Symbol.dispose`, read once, when the module loads, typed as `asyncDispose` is. */
export const dispose: DisposeKey = Symbol.dispose as DisposeKey;
