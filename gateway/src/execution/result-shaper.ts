import {
  ERRORS,
  isCompositeType,
  isCustomScalarType,
  isEnumType,
  isListType,
  isNonNullType,
  isObjectType,
  isSubtype,
  typenameFieldName,
  Variable,
  type Directive,
  type Field,
  type FragmentElement,
  type NamedType,
  type Operation,
  type Schema,
  type SelectionSet,
  type Type,
} from '@apollo/federation-internals';
import type { GraphQLError, SelectionNode } from 'graphql';

/**
 * The gateway's result shaping (`computeResponse` of `@apollo/gateway`'s `resultShaping.js`)
 * compiled once per operation: the subgraphs' merged data, cut to what the client selected,
 * in its order, with `__typename` filled in, fragments applied by type, invalid leaf values
 * and nulls in non-null positions reported and bubbled up exactly as there.
 *
 * Apollo's version walks the operation's selection sets per request, looking up directives,
 * types and subtyping each time: a third of the gateway's own CPU per request on the
 * contract's queries. Here every such answer is worked out when the operation is first seen,
 * and a request only walks its data. The outputs (data, errors and their messages and paths,
 * thrown assertion errors) are those of `computeResponse`: a test runs both on the same
 * inputs.
 */
export interface ResultShaper {
  /**
   * The shaped data (null when a null bubbled up to the root) and the completion errors,
   * built when `errors` is first read (the executor drops them when a subgraph sent errors).
   */
  shape(
    input: Record<string, unknown> | null | undefined,
    variables: Record<string, unknown> | undefined,
    introspect: (selection: SelectionNode) => unknown,
  ): { data: Record<string, unknown> | null | undefined; errors: GraphQLError[] };
}

/** What a selection is: a field, or a fragment (inline or spread). */
type SelectionElement = Field | FragmentElement;

/** `@skip(if:)` / `@include(if:)`: absent, a literal, or a variable (and the directive). */
type Condition = undefined | boolean | { readonly variable: string; readonly directive: string };

type ShapeType =
  | { readonly kind: 'nonNull'; readonly of: ShapeType; readonly ofName: string }
  | { readonly kind: 'list'; readonly of: ShapeType; readonly name: string }
  | { readonly kind: 'composite'; readonly name: string }
  | { readonly kind: 'leaf'; readonly name: string; readonly valid: (value: unknown) => boolean };

interface FieldStep {
  readonly kind: 'field';
  readonly responseName: string;
  readonly skip: Condition;
  readonly include: Condition;
  /** `__schema` / `__type`: answered by introspection, with this selection. */
  readonly introspection: SelectionNode | null;
  readonly isTypename: boolean;
  readonly type: ShapeType;
  /** The field's own selections (composite fields), else null. */
  readonly selections: Step[] | null;
}

interface FragmentStep {
  readonly kind: 'fragment';
  readonly skip: Condition;
  readonly include: Condition;
  /** Names of the types the fragment's condition applies to; null: no condition. */
  readonly appliesTo: ReadonlySet<string> | null;
  readonly typeCondition: string | null;
  readonly selections: Step[];
}

type Step = FieldStep | FragmentStep;

/** What the schema says about type names met in the data (`__typename` values). */
interface TypeNames {
  readonly all: ReadonlySet<string>;
  readonly objects: ReadonlySet<string>;
  readonly composites: ReadonlySet<string>;
}

const INTEGER = /^-?(?:0|[1-9][0-9]*)$/;

/** `isValidLeafValue` of federation-internals, decided per type once. */
function leafValidator(schema: Schema, type: NamedType): (value: unknown) => boolean {
  if (isCustomScalarType(type)) return () => true;
  if (type === schema.booleanType()) return (v) => typeof v === 'boolean';
  if (type === schema.intType()) {
    return (v) => typeof v === 'number' && isFinite(v) && INTEGER.test(String(v));
  }
  if (type === schema.idType()) {
    return (v) =>
      typeof v === 'string' || (typeof v === 'number' && isFinite(v) && INTEGER.test(String(v)));
  }
  if (type === schema.floatType()) return (v) => typeof v === 'number' && isFinite(v);
  if (isEnumType(type)) {
    const values = new Set(type.values.map((v) => v.name));
    return (v) => typeof v === 'string' && values.has(v);
  }
  return (v) => typeof v === 'string';
}

/** Compiles the shaping of one operation (its selections, against its schema). */
export function compileResultShaper(operation: Operation): ResultShaper {
  const schema = operation.schema();
  const allTypes = [...schema.allTypes()];
  const names: TypeNames = {
    all: new Set(allTypes.map((t) => t.name)),
    objects: new Set(allTypes.filter((t) => isObjectType(t)).map((t) => t.name)),
    composites: new Set(allTypes.filter((t) => isCompositeType(t)).map((t) => t.name)),
  };
  const skipDirective = schema.skipDirective();
  const includeDirective = schema.includeDirective();
  const appliesTo = new Map<string, ReadonlySet<string>>();
  const compiledSets = new Map<SelectionSet, Step[]>();

  const condition = (directives: readonly Directive<SelectionElement>[]): Condition => {
    const directive = directives[0];
    if (!directive) return undefined;
    const value = (directive.arguments() as { if?: unknown }).if;
    return value instanceof Variable
      ? { variable: value.name, directive: directive.toString() }
      : Boolean(value);
  };

  const shapeType = (type: Type): ShapeType => {
    if (isNonNullType(type)) {
      return {
        kind: 'nonNull',
        of: shapeType(type.ofType as Type),
        ofName: String(type.ofType),
      };
    }
    if (isListType(type)) {
      return { kind: 'list', of: shapeType(type.ofType as Type), name: String(type) };
    }
    if (isCompositeType(type)) return { kind: 'composite', name: type.name };
    return { kind: 'leaf', name: String(type), valid: leafValidator(schema, type) };
  };

  const typesUnder = (condition: NamedType): ReadonlySet<string> => {
    let set = appliesTo.get(condition.name);
    if (!set) {
      set = new Set(allTypes.filter((t) => isSubtype(condition, t)).map((t) => t.name));
      appliesTo.set(condition.name, set);
    }
    return set;
  };

  const compileSet = (set: SelectionSet): Step[] => {
    const known = compiledSets.get(set);
    if (known) return known;
    const steps: Step[] = [];
    compiledSets.set(set, steps);
    for (const selection of set.selections()) {
      const element = selection.element;
      const skip = condition(element.appliedDirectivesOf(skipDirective));
      const include = condition(element.appliedDirectivesOf(includeDirective));
      if (selection.kind === 'FieldSelection') {
        const field = selection.element;
        const introspection = field.definition.isSchemaIntrospectionField();
        steps.push({
          kind: 'field',
          responseName: field.responseName(),
          skip,
          include,
          introspection: introspection ? selection.expandFragments().toSelectionNode() : null,
          isTypename: field.name === typenameFieldName,
          type: shapeType(field.definition.type!),
          selections:
            !introspection && selection.selectionSet ? compileSet(selection.selectionSet) : null,
        });
      } else {
        const typeCondition = selection.element.typeCondition;
        steps.push({
          kind: 'fragment',
          skip,
          include,
          appliesTo: typeCondition ? typesUnder(typeCondition) : null,
          typeCondition: typeCondition?.name ?? null,
          selections: compileSet(selection.selectionSet),
        });
      }
    }
    return steps;
  };

  const root = compileSet(operation.selectionSet);
  const rootType = schema.schemaDefinition.rootType(operation.rootKind)!.name;
  const defaults = operation.collectDefaultedVariableValues();
  // Plain objects serialize and collect faster than null-prototype ones (V8 keeps those as
  // dictionaries), but a response name that is also an `Object.prototype` member
  // (`constructor`, `__proto__`) would read or set the inherited one: such operations keep
  // null-prototype objects, as Apollo's shaping has.
  const inherited = [...compiledSets.values()].some((steps) =>
    steps.some((step) => step.kind === 'field' && step.responseName in Object.prototype),
  );
  const newObject = inherited
    ? () => Object.create(null) as Record<string, unknown>
    : () => ({}) as Record<string, unknown>;
  return {
    shape(input, variables, introspect) {
      if (!input) return { data: input, errors: [] };
      const run = new ShapingRun(
        names,
        { __proto__: null, ...defaults, ...variables },
        introspect,
        newObject,
      );
      const data = newObject();
      const bubbled = run.applySelections(input, root, data, rootType);
      let errors: GraphQLError[] | undefined;
      return {
        data: bubbled ? null : data,
        get errors() {
          return (errors ??= run.errors());
        },
      };
    },
  };
}

/** A value as a template literal shows it, as in Apollo's messages. */
const describe = (value: unknown): string => `${value as string}`;

const assert = (condition: unknown, message: () => string): void => {
  if (!condition) throw new Error(message());
};

/** One request's walk of its data; the flags stand for `computeResponse`'s result objects. */
class ShapingRun {
  /** What `report` was told: message and path, made GraphQLErrors only when read. */
  readonly problems: Array<{ message: string; path: (string | number)[] }> = [];
  readonly path: (string | number)[] = [];
  /** Set by `update`: the value must not stand (a null in a non-null position). */
  private invalid = false;
  /** Set by `update`: an error was reported below. */
  private hasErrors = false;

  constructor(
    private readonly names: TypeNames,
    private readonly variables: Record<string, unknown>,
    private readonly introspect: (selection: SelectionNode) => unknown,
    private readonly newObject: () => Record<string, unknown>,
  ) {}

  private conditionValue(condition: Exclude<Condition, undefined>): boolean {
    if (typeof condition === 'boolean') return condition;
    const value = this.variables[condition.variable];
    assert(
      value !== undefined && typeof value === 'boolean',
      () =>
        `Unexpected value ${String(value)} for variable $${condition.variable} of ${condition.directive}`,
    );
    return value as boolean;
  }

  private skipped(step: Step): boolean {
    return (
      (step.skip !== undefined && this.conditionValue(step.skip)) ||
      (step.include !== undefined && !this.conditionValue(step.include))
    );
  }

  private describe(current: string, parentType: string): string {
    const element = this.path[this.path.length - 1];
    assert(element !== undefined, () => 'Should not have been called on an empty path');
    return typeof element === 'string'
      ? `field ${parentType}.${element}`
      : `array element of type ${current} at index ${element}`;
  }

  private report(message: string): void {
    this.problems.push({ message, path: Array.from(this.path) });
  }

  /** The reported problems as `computeResponse`'s errors. */
  errors(): GraphQLError[] {
    return this.problems.map(({ message, path }) => ERRORS.INVALID_GRAPHQL.err(message, { path }));
  }

  /** Applies `steps` to `input` into `output`; true when a null must bubble up. */
  applySelections(
    input: Record<string, unknown>,
    steps: Step[],
    output: Record<string, unknown>,
    parentType: string,
  ): boolean {
    for (const step of steps) {
      if (this.skipped(step)) continue;
      if (step.kind === 'field') {
        const name = step.responseName;
        const outputValue = output[name];
        if (step.introspection) {
          if (outputValue === undefined) output[name] = this.introspect(step.introspection);
          continue;
        }
        let inputValue = Object.prototype.hasOwnProperty.call(input, name)
          ? (input[name] ?? null)
          : null;
        if (step.isTypename) {
          if (outputValue === undefined) {
            if (inputValue === null && name !== typenameFieldName) {
              inputValue = input[typenameFieldName] ?? null;
            }
            const type =
              typeof inputValue === 'string' && this.names.all.has(inputValue)
                ? inputValue
                : parentType;
            if (!this.names.objects.has(type)) return true;
            output[name] = type;
          }
          continue;
        }
        this.path.push(name);
        const updated = this.update(
          outputValue,
          step.type,
          inputValue,
          step.selections,
          parentType,
        );
        output[name] = updated;
        this.path.pop();
        if (this.invalid) return true;
      } else {
        const typename = input[typenameFieldName];
        assert(
          !typename || typeof typename === 'string',
          () => `Got unexpected value for __typename: ${String(typename)}`,
        );
        const applies =
          !step.appliesTo ||
          (typename ? step.appliesTo.has(typename as string) : step.appliesTo.has(parentType));
        if (applies) {
          const type = step.typeCondition ?? parentType;
          if (this.applySelections(input, step.selections, output, type)) return true;
        }
      }
    }
    return false;
  }

  /** `updateOutputValue`: the new output value; `invalid`/`hasErrors` say how it went. */
  private update(
    outputValue: unknown,
    type: ShapeType,
    inputValue: unknown,
    selections: Step[] | null,
    parentType: string,
  ): unknown {
    assert(
      inputValue !== undefined,
      () => 'Should not pass undefined for `inputValue` to this method',
    );
    this.invalid = false;
    this.hasErrors = false;
    if (outputValue === null || (outputValue !== undefined && !selections)) return outputValue;
    switch (type.kind) {
      case 'nonNull': {
        const updated = this.update(outputValue, type.of, inputValue, selections, parentType);
        if (updated === null) {
          if (!this.hasErrors) {
            this.report(
              `Cannot return null for non-nullable ${this.describe(type.ofName, parentType)}.`,
            );
          }
          this.invalid = true;
          this.hasErrors = true;
          return null;
        }
        this.invalid = false;
        this.hasErrors = false;
        return updated;
      }
      case 'list': {
        if (inputValue === null) return null;
        assert(
          Array.isArray(inputValue),
          () =>
            `Invalid non-list value ${describe(inputValue)} returned by subgraph for list type ${type.name}`,
        );
        const inputs = inputValue as unknown[];
        assert(
          outputValue === undefined || Array.isArray(outputValue),
          () =>
            `Invalid non-list value ${describe(outputValue)} returned by subgraph for list type ${type.name}`,
        );
        const outputs =
          outputValue === undefined
            ? new Array<unknown>(inputs.length).fill(undefined)
            : (outputValue as unknown[]);
        assert(
          inputs.length === outputs.length,
          () =>
            `[${String(inputs)}].length (${inputs.length}) !== [${String(outputs)}].length (${outputs.length})`,
        );
        let nullify = false;
        let hasErrors = false;
        const updated = new Array<unknown>(outputs.length);
        for (let i = 0; i < outputs.length; i++) {
          this.path.push(i);
          updated[i] = this.update(outputs[i], type.of, inputs[i], selections, parentType);
          this.path.pop();
          nullify ||= this.invalid;
          hasErrors ||= this.hasErrors;
        }
        this.invalid = false;
        this.hasErrors = hasErrors;
        return nullify ? null : updated;
      }
      case 'composite': {
        if (inputValue === null) return null;
        assert(selections, () => `Invalid empty selection set for composite type ${type.name}`);
        assert(
          typeof inputValue === 'object',
          () =>
            `Invalid non-object value ${describe(inputValue)} returned by subgraph for composite type ${type.name}`,
        );
        assert(
          outputValue === undefined || typeof outputValue === 'object',
          () =>
            `Invalid non-object value ${describe(inputValue)} returned by subgraph for composite type ${type.name}`,
        );
        const input = inputValue as Record<string, unknown>;
        const inputTypename = input[typenameFieldName];
        assert(
          inputTypename === undefined || typeof inputTypename === 'string',
          () =>
            `Invalid non-string value ${String(inputTypename)} for __typename at ${String(this.path)}`,
        );
        let objectType = type.name;
        if (inputTypename) {
          if (!this.names.composites.has(inputTypename as string)) {
            this.report(
              `Invalid __typename found for object at ${this.describe(type.name, parentType)}.`,
            );
            this.invalid = false;
            this.hasErrors = true;
            return null;
          }
          objectType = inputTypename as string;
        }
        const output =
          outputValue === undefined ? this.newObject() : (outputValue as Record<string, unknown>);
        const bubbled = this.applySelections(input, selections!, output, objectType);
        this.invalid = false;
        this.hasErrors = bubbled;
        return bubbled ? null : output;
      }
      case 'leaf': {
        if (inputValue === null) return null;
        assert(
          outputValue === undefined,
          () => `Excepted output to be undefined but got ${type.name} for type ${type.name}`,
        );
        const valid = type.valid(inputValue);
        if (!valid) this.report(`Invalid value found for ${this.describe(type.name, parentType)}.`);
        this.invalid = false;
        this.hasErrors = !valid;
        return valid ? inputValue : null;
      }
    }
  }
}
