; Rust: what the extractor captures. Capture names say what a node is:
;   @function        functions, methods, and method declarations in traits
;   @type            structs, enums, traits, impl blocks
;   @error_handling  `match` with `Ok(..)` / `Err(..)` arms
;   @propagation     each `?` (grouped into one pattern per function)
;   @async           async blocks

(function_item) @function

(function_signature_item) @function

(struct_item) @type

(enum_item) @type

(trait_item) @type

(impl_item) @type

(match_expression
  body: (match_block
    (match_arm
      pattern: (match_pattern
        [
          (tuple_struct_pattern type: (identifier) @constructor)
          (tuple_struct_pattern type: (scoped_identifier name: (identifier) @constructor))
        ])))
  (#any-of? @constructor "Ok" "Err")) @error_handling

(try_expression) @propagation

(async_block) @async
