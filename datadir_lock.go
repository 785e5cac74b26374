package main

import "errors"

// errDataDirInUse: another process serves from the same DATA_DIR.
var errDataDirInUse = errors.New("the data directory is in use by another process of the service")
