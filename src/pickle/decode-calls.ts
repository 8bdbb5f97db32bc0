/**
 * How the decoder meets globals, calls and persistent ids: through the caller's hooks
 * (`findGlobal`, reducers, `persistentLoad`) when given, else as inert data. `hook.active` is
 * true while a hook runs, so the decoder can tell a hook's own error from its own.
 */
import { tagOf } from "./decode-keys.js";
import type { DecodeOptions, ReduceContext, Reducer, ReducerRegistry } from "./decode-options.js";
import { BUILTIN_REDUCERS } from "./reducers.js";
import type { PyGlobal, PyObject, PyObjectVia, PyPersistentId, PyValue } from "./value.js";

export interface DecodeCalls<X> {
  /** GLOBAL, STACK_GLOBAL, INST/OBJ classes, EXT codes: `findGlobal`'s replacement or a PyGlobal. */
  resolveGlobal(module: string, name: string): PyValue<X>;
  /** REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ: a reducer's value, else an inert PyObject. */
  call(callable: PyValue<X>, args: PyValue<X>, via: PyObjectVia, kwargs?: PyValue<X>): PyValue<X>;
  /** PERSID/BINPERSID: `persistentLoad`'s value, else a PyPersistentId. */
  persistent(pid: PyValue<X>, binary: boolean): PyValue<X>;
}

export function decodeCalls<X>(
  options: DecodeOptions<X>, hook: { active: boolean }, offset: () => number, shared: (value: PyValue<X>) => boolean,
): DecodeCalls<X> {
  const reducers = (options.reducers ?? BUILTIN_REDUCERS) as ReducerRegistry<X>;
  const { findGlobal, persistentLoad } = options;

  // Reducer per global object: Python memoizes a global once and GETs it for every call, so
  // caching by identity skips building and hashing "module.name" on each REDUCE.
  const reducerOf = new Map<PyGlobal, Reducer<X> | null>();
  // Calls alternate between a few globals (a tensor rebuild, then its hooks' OrderedDict): the
  // last two answers are kept at hand, ahead of the map.
  let lastGlobal: PyGlobal | undefined;
  let lastReducer: Reducer<X> | null = null;
  let prevGlobal: PyGlobal | undefined;
  let prevReducer: Reducer<X> | null = null;
  const findReducer = (g: PyGlobal): Reducer<X> | null => {
    if (g === lastGlobal) return lastReducer;
    if (g === prevGlobal) return prevReducer;
    let r = reducerOf.get(g);
    if (r === undefined) {
      const key = `${g.module}.${g.name}`;
      r = Object.prototype.hasOwnProperty.call(reducers, key) ? reducers[key]! : null;
      reducerOf.set(g, r);
    }
    prevGlobal = lastGlobal;
    prevReducer = lastReducer;
    lastGlobal = g;
    lastReducer = r;
    return r;
  };

  return {
    resolveGlobal(module, name) {
      if (findGlobal !== undefined) {
        hook.active = true;
        const replacement = findGlobal(module, name, offset());
        hook.active = false;
        if (replacement !== undefined) return replacement;
      }
      return { kind: "global", module, name };
    },
    call(callable, args, via, kwargs) {
      if (tagOf(callable) === "global") {
        const g = callable as PyGlobal;
        const reducer = findReducer(g);
        if (reducer !== null) {
          const ctx: ReduceContext<X> = kwargs === undefined ? { callable: g, via, offset: offset(), shared } : { callable: g, via, kwargs, offset: offset(), shared };
          hook.active = true;
          const out = reducer.call(args, ctx);
          hook.active = false;
          if (out !== undefined) return out;
        }
      }
      const obj: PyObject<X> = kwargs === undefined
        ? { kind: "object", via, callable, args }
        : { kind: "object", via, callable, args, kwargs };
      return obj;
    },
    persistent(pid, binary) {
      if (persistentLoad === undefined) {
        const out: PyPersistentId<X> = { kind: "persid", pid, binary };
        return out;
      }
      hook.active = true;
      const out = persistentLoad(pid, { offset: offset(), binary });
      hook.active = false;
      return out;
    },
  };
}
