/** A worker module that fails while it loads, before it serves anything. */
throw new RangeError("broken at load");
