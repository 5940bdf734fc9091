package gcheadroom

// StartWith is Start with its ticks and its release given.
var StartWith = start
