package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
)

// localCommandType is the type token @pulumi/command registers for `new command.local.Command(...)`.
const localCommandType = "command:local:Command"

// The environment variables that carry the previous run's outputs into update and delete commands.
var previousOutputVariables = map[resource.PropertyKey]string{
	"stdout": "PULUMI_COMMAND_STDOUT",
	"stderr": "PULUMI_COMMAND_STDERR",
}

// Inputs that this build does not implement; Check rejects them rather than silently ignoring them.
var unsupportedInputs = []resource.PropertyKey{"assetPaths", "archivePaths"}

// commandProvider implements command:local:Command as pulumi-command v1.2.1 documents it: `create` runs on creation,
// `update` (or else `create`) when any input changes, `delete` on deletion, a change of `triggers` replaces the
// resource; outputs are the inputs plus the last run's `stdout` and `stderr` (one trailing newline trimmed).
type commandProvider struct {
	plugin.UnimplementedProvider
	version string
}

func (p *commandProvider) GetPluginInfo(context.Context) (plugin.PluginInfo, error) {
	v, err := semver.ParseTolerant(p.version)
	if err != nil {
		return plugin.PluginInfo{}, fmt.Errorf("bad plugin version %q: %w", p.version, err)
	}
	return plugin.PluginInfo{Version: &v}, nil
}

// The provider has no configuration of its own.
func (p *commandProvider) CheckConfig(
	_ context.Context, req plugin.CheckConfigRequest,
) (plugin.CheckConfigResponse, error) {
	return plugin.CheckConfigResponse{Properties: req.News}, nil
}

func (p *commandProvider) DiffConfig(context.Context, plugin.DiffConfigRequest) (plugin.DiffConfigResponse, error) {
	return plugin.DiffConfigResponse{Changes: plugin.DiffNone}, nil
}

func (p *commandProvider) Configure(context.Context, plugin.ConfigureRequest) (plugin.ConfigureResponse, error) {
	return plugin.ConfigureResponse{}, nil
}

func (p *commandProvider) Check(_ context.Context, req plugin.CheckRequest) (plugin.CheckResponse, error) {
	if err := requireLocalCommand(req.Type); err != nil {
		return plugin.CheckResponse{}, err
	}
	var failures []plugin.CheckFailure
	for _, key := range unsupportedInputs {
		if value, ok := req.News[key]; ok && !value.IsNull() {
			failures = append(failures, plugin.CheckFailure{
				Property: key,
				Reason:   fmt.Sprintf("%s is not supported by this project's build of pulumi-resource-command", key),
			})
		}
	}
	return plugin.CheckResponse{Properties: req.News, Failures: failures}, nil
}

func (p *commandProvider) Diff(_ context.Context, req plugin.DiffRequest) (plugin.DiffResponse, error) {
	diff := req.OldInputs.Diff(req.NewInputs)
	if diff == nil || !diff.AnyChanges() {
		return plugin.DiffResponse{Changes: plugin.DiffNone}, nil
	}
	result := plugin.DiffResponse{
		Changes:      plugin.DiffSome,
		ChangedKeys:  diff.ChangedKeys(),
		DetailedDiff: plugin.NewDetailedDiffFromObjectDiff(diff, true),
	}
	if diff.Changed("triggers") {
		result.ReplaceKeys = []resource.PropertyKey{"triggers"}
	}
	return result, nil
}

func (p *commandProvider) Create(ctx context.Context, req plugin.CreateRequest) (plugin.CreateResponse, error) {
	if err := requireLocalCommand(req.Type); err != nil {
		return plugin.CreateResponse{}, err
	}
	if req.Preview {
		return plugin.CreateResponse{Properties: withUnknownOutputs(req.Properties)}, nil
	}
	spec, err := parseLocalCommand(req.Properties)
	if err != nil {
		return plugin.CreateResponse{}, err
	}
	outputs, err := spec.runAndRecord(ctx, spec.create, req.Properties, nil)
	if err != nil {
		return plugin.CreateResponse{}, err
	}
	id, err := newID(req.Name)
	if err != nil {
		return plugin.CreateResponse{}, err
	}
	return plugin.CreateResponse{ID: id, Properties: outputs, Status: resource.StatusOK}, nil
}

func (p *commandProvider) Update(ctx context.Context, req plugin.UpdateRequest) (plugin.UpdateResponse, error) {
	if req.Preview {
		return plugin.UpdateResponse{Properties: withUnknownOutputs(req.NewInputs)}, nil
	}
	spec, err := parseLocalCommand(req.NewInputs)
	if err != nil {
		return plugin.UpdateResponse{}, err
	}
	command := spec.update
	if command == "" {
		command = spec.create
	}
	outputs, err := spec.runAndRecord(ctx, command, req.NewInputs, req.OldOutputs)
	if err != nil {
		return plugin.UpdateResponse{}, err
	}
	return plugin.UpdateResponse{Properties: outputs, Status: resource.StatusOK}, nil
}

func (p *commandProvider) Delete(ctx context.Context, req plugin.DeleteRequest) (plugin.DeleteResponse, error) {
	spec, err := parseLocalCommand(req.Outputs)
	if err != nil {
		return plugin.DeleteResponse{}, err
	}
	if spec.delete != "" {
		if _, _, err := spec.run(ctx, spec.delete, req.Outputs); err != nil {
			return plugin.DeleteResponse{Status: resource.StatusUnknown}, err
		}
	}
	return plugin.DeleteResponse{Status: resource.StatusOK}, nil
}

// Read reports the recorded state unchanged: a local command has nothing to look at, so refresh shows no change
// (as with pulumi-command).
func (p *commandProvider) Read(_ context.Context, req plugin.ReadRequest) (plugin.ReadResponse, error) {
	return plugin.ReadResponse{
		ReadResult: plugin.ReadResult{ID: req.ID, Inputs: req.Inputs, Outputs: req.State},
		Status:     resource.StatusOK,
	}, nil
}

func requireLocalCommand(typ fmt.Stringer) error {
	if typ.String() != localCommandType {
		return fmt.Errorf("unknown resource type %q: this build of pulumi-resource-command serves only %s",
			typ, localCommandType)
	}
	return nil
}

// localCommand is the part of the inputs that decides what runs and how.
type localCommand struct {
	create, update, delete, dir, stdin string
	interpreter                        []string
	environment                        map[string]string
	addPreviousOutputInEnv             bool
}

func parseLocalCommand(inputs resource.PropertyMap) (localCommand, error) {
	spec := localCommand{interpreter: []string{"/bin/sh", "-c"}, addPreviousOutputInEnv: true}
	var err error
	for key, target := range map[resource.PropertyKey]*string{
		"create": &spec.create, "update": &spec.update, "delete": &spec.delete, "dir": &spec.dir, "stdin": &spec.stdin,
	} {
		if *target, err = stringInput(inputs, key); err != nil {
			return spec, err
		}
	}
	if value, ok := inputs["interpreter"]; ok && value.IsArray() && len(value.ArrayValue()) > 0 {
		spec.interpreter = spec.interpreter[:0]
		for _, element := range value.ArrayValue() {
			if !element.IsString() {
				return spec, fmt.Errorf("interpreter must be a list of strings, got %v", value)
			}
			spec.interpreter = append(spec.interpreter, element.StringValue())
		}
	}
	if value, ok := inputs["environment"]; ok && value.IsObject() {
		spec.environment = map[string]string{}
		for name, element := range value.ObjectValue() {
			if !element.IsString() {
				return spec, fmt.Errorf("environment.%s must be a string, got %v", name, element)
			}
			spec.environment[string(name)] = element.StringValue()
		}
	}
	if value, ok := inputs["addPreviousOutputInEnv"]; ok && value.IsBool() {
		spec.addPreviousOutputInEnv = value.BoolValue()
	}
	return spec, nil
}

func stringInput(inputs resource.PropertyMap, key resource.PropertyKey) (string, error) {
	value, ok := inputs[key]
	switch {
	case !ok || value.IsNull():
		return "", nil
	case value.IsString():
		return value.StringValue(), nil
	default:
		return "", fmt.Errorf("%s must be a string, got %v", key, value)
	}
}

// runAndRecord runs command (if any) and returns the inputs plus its stdout and stderr; with no command the previous
// outputs' stdout and stderr are kept.
func (c localCommand) runAndRecord(
	ctx context.Context, command string, inputs, previous resource.PropertyMap,
) (resource.PropertyMap, error) {
	outputs := inputs.Copy()
	stdout, stderr := previous["stdout"], previous["stderr"]
	if command != "" {
		out, errOut, err := c.run(ctx, command, previous)
		if err != nil {
			return nil, err
		}
		stdout, stderr = resource.NewStringProperty(out), resource.NewStringProperty(errOut)
	}
	outputs["stdout"], outputs["stderr"] = orEmpty(stdout), orEmpty(stderr)
	return outputs, nil
}

// run executes command with the interpreter in dir; previous outputs go into PULUMI_COMMAND_STDOUT/STDERR, as
// pulumi-command does for update and delete.
func (c localCommand) run(ctx context.Context, command string, previous resource.PropertyMap) (string, string, error) {
	args := append(append([]string{}, c.interpreter[1:]...), command)
	cmd := exec.CommandContext(ctx, c.interpreter[0], args...)
	cmd.Dir = c.dir
	cmd.Env = os.Environ()
	for name, value := range c.environment {
		cmd.Env = append(cmd.Env, name+"="+value)
	}
	if c.addPreviousOutputInEnv {
		for key, name := range previousOutputVariables {
			if value, ok := previous[key]; ok && value.IsString() {
				cmd.Env = append(cmd.Env, name+"="+value.StringValue())
			}
		}
	}
	cmd.Stdin = strings.NewReader(c.stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", "", fmt.Errorf("command %q failed: %w\nstdout: %s\nstderr: %s",
			command, err, stdout.String(), stderr.String())
	}
	return strings.TrimSuffix(stdout.String(), "\n"), strings.TrimSuffix(stderr.String(), "\n"), nil
}

// withUnknownOutputs is the preview state: inputs as given, stdout and stderr not known until the command runs.
func withUnknownOutputs(inputs resource.PropertyMap) resource.PropertyMap {
	outputs := inputs.Copy()
	outputs["stdout"] = resource.MakeComputed(resource.NewStringProperty(""))
	outputs["stderr"] = resource.MakeComputed(resource.NewStringProperty(""))
	return outputs
}

func orEmpty(value resource.PropertyValue) resource.PropertyValue {
	if value.IsString() {
		return value
	}
	return resource.NewStringProperty("")
}

func newID(name string) (resource.ID, error) {
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		return "", err
	}
	return resource.ID(name + "-" + hex.EncodeToString(suffix)), nil
}
