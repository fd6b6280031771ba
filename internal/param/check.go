package param

// CheckMetadata applies the metadata limits of Metadata to a map that was
// decoded elsewhere, such as from a JSON body.
func CheckMetadata(field string, m map[string]string) error { return checkMetadata(field, m) }

// CheckedMetadata applies the metadata limits to metadata that arrived
// already decoded (in a JSON body); nil becomes an empty map.
func CheckedMetadata(field string, md map[string]string) (map[string]string, error) {
	if md == nil {
		return map[string]string{}, nil
	}
	if err := checkMetadata(field, md); err != nil {
		return nil, err
	}
	return md, nil
}
