; JavaScript, TypeScript and TSX: the captures their grammars share. Each language's own
; file is appended to this one. Capture names say what a node is:
;   @function        function declarations, methods, function expressions that name
;                    themselves, and function or arrow expressions given a name
;                    (assigned to a variable, property or key)
;   @type            classes
;   @error_handling  try / catch / finally

(function_declaration) @function

(generator_function_declaration) @function

(method_definition) @function

(variable_declarator
  value: [(arrow_function) (function_expression) (generator_function)] @function)

(assignment_expression
  right: [(arrow_function) (function_expression) (generator_function)] @function)

(pair
  value: [(arrow_function) (function_expression) (generator_function)] @function)

; A function expression that names itself is a function wherever it stands: called at once
; (`(function load() { … })()`), passed as a callback, returned. Where it is also assigned,
; the two captures are the same node and give one pattern.
(function_expression name: (identifier)) @function

(generator_function name: (identifier)) @function

(class_declaration) @type

(variable_declarator value: (class) @type)

(try_statement) @error_handling
