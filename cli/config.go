package cli

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/urfave/cli/v2"
)

// Config files. `roster agent --config FILE` reads a TOML file whose keys
// are the agent's flag names (max-body = 2048, join = ["a:7946"]). The file
// is applied generically: every flag of the agent command is a key, so a
// flag added to agentFlags needs no code here. Precedence is flag >
// ROSTER_* environment > file > default: urfave applies the flags and the
// environment, and the file only fills flags neither of them set, through
// the flag's own parser (c.Set), so a value is checked exactly as on the
// command line. `--print-config` prints the effective settings in the same
// format.

const (
	configFlag      = "config"
	printConfigFlag = "print-config"
)

// configFlags are the flags that manage configuration; they are not keys
// of the file themselves.
func configFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: configFlag, EnvVars: envVar(configFlag),
			Usage: "read settings from a TOML `file` whose keys are flag names; flags and ROSTER_* variables override it"},
		&cli.BoolFlag{Name: printConfigFlag,
			Usage: "print the effective settings as TOML (usable as --config) and exit"},
	}
}

// fileFlags returns the flags settable from the config file, in command
// order, by name.
func fileFlags(c *cli.Context) ([]cli.Flag, map[string]cli.Flag) {
	var list []cli.Flag
	byName := map[string]cli.Flag{}
	for _, f := range c.Command.Flags {
		name := f.Names()[0]
		if name == configFlag || name == printConfigFlag || name == "help" {
			continue
		}
		list = append(list, f)
		for _, alias := range f.Names() {
			byName[alias] = f
		}
	}
	return list, byName
}

// applyConfigFile fills the flags that neither the command line nor the
// environment set from the --config file, if any. Errors name the file
// and the key and are usage errors.
func applyConfigFile(c *cli.Context) error {
	path := c.String(configFlag)
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return badUsage(c, fmt.Errorf("--config: %w", err))
	}
	var values map[string]any
	if _, err := toml.Decode(string(data), &values); err != nil {
		return badUsage(c, fmt.Errorf("config file %s: %w", path, err))
	}
	_, flags := fileFlags(c)
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		f, ok := flags[key]
		if !ok {
			return badUsage(c, fmt.Errorf("config file %s: unknown key %q (keys are the agent's flag names)", path, key))
		}
		strs, err := flagStrings(f, values[key])
		if err != nil {
			return badUsage(c, fmt.Errorf("config file %s: key %q: %w", path, key, err))
		}
		if c.IsSet(key) {
			continue // the command line or the environment wins
		}
		for _, s := range strs {
			if err := c.Set(f.Names()[0], s); err != nil {
				return badUsage(c, fmt.Errorf("config file %s: key %q: invalid value %q: %w", path, key, s, err))
			}
		}
	}
	return nil
}

// flagStrings converts a TOML value to the command-line strings of flag f,
// checking that its TOML type fits the flag: strings for text and
// durations, integers for integer flags, booleans for switches, arrays for
// repeatable flags.
func flagStrings(f cli.Flag, v any) ([]string, error) {
	switch f.(type) {
	case *cli.StringFlag, *cli.PathFlag, *cli.DurationFlag, *cli.TimestampFlag, *cli.GenericFlag:
		if s, ok := v.(string); ok {
			return []string{s}, nil
		}
		return nil, typeError("a string", v)
	case *cli.BoolFlag:
		if b, ok := v.(bool); ok {
			return []string{strconv.FormatBool(b)}, nil
		}
		return nil, typeError("true or false", v)
	case *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag, *cli.Uint64Flag:
		if i, ok := v.(int64); ok {
			return []string{strconv.FormatInt(i, 10)}, nil
		}
		return nil, typeError("an integer", v)
	case *cli.Float64Flag:
		switch x := v.(type) {
		case float64:
			return []string{strconv.FormatFloat(x, 'g', -1, 64)}, nil
		case int64:
			return []string{strconv.FormatInt(x, 10)}, nil
		}
		return nil, typeError("a number", v)
	case *cli.StringSliceFlag:
		return stringArray(v)
	case *cli.IntSliceFlag, *cli.Int64SliceFlag, *cli.UintSliceFlag, *cli.Uint64SliceFlag, *cli.Float64SliceFlag:
		arr, ok := v.([]any)
		if !ok {
			return nil, typeError("an array of numbers", v)
		}
		out := make([]string, 0, len(arr))
		for _, e := range arr {
			switch x := e.(type) {
			case int64:
				out = append(out, strconv.FormatInt(x, 10))
			case float64:
				out = append(out, strconv.FormatFloat(x, 'g', -1, 64))
			default:
				return nil, typeError("an array of numbers", v)
			}
		}
		return out, nil
	}
	// A flag type not listed above: any scalar, as the command line would
	// spell it; the flag's parser has the last word.
	switch x := v.(type) {
	case string, bool, int64, float64:
		return []string{fmt.Sprint(x)}, nil
	case []any:
		return stringArray(v)
	}
	return nil, typeError("a string, number or boolean", v)
}

// stringArray accepts a string or an array of strings.
func stringArray(v any) ([]string, error) {
	switch x := v.(type) {
	case string:
		return []string{x}, nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, typeError("an array of strings", v)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, typeError("a string or an array of strings", v)
}

// typeError says what a key needed and what the file gave.
func typeError(want string, got any) error {
	return fmt.Errorf("want %s, got %s", want, tomlType(got))
}

// tomlType names the TOML type of a decoded value.
func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	case time.Time:
		return "a date-time"
	}
	return fmt.Sprintf("%T", v)
}

// printConfig writes the effective value of every file-settable flag to
// the app's writer as TOML, each under a comment with its usage.
// secretFlags hold keys, tokens or passwords: --print-config does not
// print their values.
var secretFlags = map[string]bool{"gossip-key": true, "cluster-secret": true, "acl-token": true, "acl-user": true}

// secretSet reports whether the secret flag f has a value.
func secretSet(c *cli.Context, f cli.Flag) bool {
	name := f.Names()[0]
	if _, ok := f.(*cli.StringSliceFlag); ok {
		return len(c.StringSlice(name)) > 0
	}
	return c.String(name) != ""
}

func printConfig(c *cli.Context) error {
	list, _ := fileFlags(c)
	var b strings.Builder
	b.WriteString("# roster agent configuration (roster agent --config FILE).\n")
	b.WriteString("# Precedence: command-line flag > ROSTER_* environment variable > this file > default.\n")
	for _, f := range list {
		name := f.Names()[0]
		if secretFlags[name] && secretSet(c, f) {
			// Never echo a secret to a terminal or a log; say where it is.
			b.WriteString("\n# " + name + " is set but not printed (a secret); give it again, or use a file flag.\n")
			continue
		}
		line, err := toml.Marshal(map[string]any{name: flagValue(c, f)})
		if err != nil {
			return fmt.Errorf("agent: print config: %s: %w", name, err)
		}
		b.WriteString("\n")
		if df, ok := f.(cli.DocGenerationFlag); ok && df.GetUsage() != "" {
			b.WriteString("# " + strings.ReplaceAll(df.GetUsage(), "`", ""))
			if d := df.GetDefaultText(); d != "" {
				b.WriteString(" (default: " + d + ")")
			}
			b.WriteString("\n")
		}
		b.Write(line)
	}
	_, err := fmt.Fprint(c.App.Writer, b.String())
	return err
}

// flagValue returns the effective value of f in the type the file takes.
func flagValue(c *cli.Context, f cli.Flag) any {
	name := f.Names()[0]
	switch f.(type) {
	case *cli.StringFlag, *cli.PathFlag:
		return c.String(name)
	case *cli.BoolFlag:
		return c.Bool(name)
	case *cli.DurationFlag:
		return c.Duration(name).String()
	case *cli.IntFlag:
		return c.Int(name)
	case *cli.Int64Flag:
		return c.Int64(name)
	case *cli.UintFlag:
		return c.Uint(name)
	case *cli.Uint64Flag:
		return c.Uint64(name)
	case *cli.Float64Flag:
		return c.Float64(name)
	case *cli.StringSliceFlag:
		if v := c.StringSlice(name); v != nil {
			return v
		}
		return []string{}
	case *cli.IntSliceFlag:
		return orEmpty(c.IntSlice(name))
	case *cli.Int64SliceFlag:
		return orEmpty(c.Int64Slice(name))
	case *cli.Float64SliceFlag:
		return orEmpty(c.Float64Slice(name))
	}
	if v := c.Value(name); v != nil {
		if s, ok := v.(fmt.Stringer); ok {
			return s.String()
		}
		return fmt.Sprint(v)
	}
	return ""
}

// orEmpty turns a nil slice into an empty one, which TOML can encode.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
