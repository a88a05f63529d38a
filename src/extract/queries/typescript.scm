; TypeScript and TSX, after ecmascript.scm: functions held by class fields, abstract
; classes, interfaces and enums.

(public_field_definition
  value: [(arrow_function) (function_expression)] @function)

(abstract_class_declaration) @type

(interface_declaration) @type

(enum_declaration) @type
