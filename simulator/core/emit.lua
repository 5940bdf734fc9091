-- emit appends an event to the log (KEYS[1]) and publishes it on the live
-- channel: the prelude's emit, for an event Go writes. It answers its id.
return emit(KEYS[1], args.at, args.kind, args.data)
