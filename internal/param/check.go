package param

// CheckMetadata applies the metadata limits of Metadata to a map that was
// decoded elsewhere, such as from a JSON body.
func CheckMetadata(field string, m map[string]string) error { return checkMetadata(field, m) }
