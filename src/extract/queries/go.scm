; Go: what the extractor captures. Capture names say what a node is:
;   @function        functions, and methods with their receivers
;   @type            struct and interface types
;   @error_handling  `if err != nil { … }` (any error-named variable compared with nil)
;   @async           goroutine launches (`go f()`) and `select` statements

(function_declaration) @function

(method_declaration) @function

(type_spec type: (struct_type)) @type

(type_spec type: (interface_type)) @type

(if_statement
  condition: (binary_expression
    left: (identifier) @error
    operator: "!="
    right: (nil))
  (#match? @error "^(err|e|error)$|Err$|^err[A-Z]")) @error_handling

(go_statement) @async

(select_statement) @async
