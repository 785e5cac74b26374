package embeddeddb

import "errors"

// ErrNotBuiltIn is returned by Start in a binary built with the noembed tag.
var ErrNotBuiltIn = errors.New("this binary was built without the embedded database (tag noembed): set MONGODB_URI")
